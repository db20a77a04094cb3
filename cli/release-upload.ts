// `lobby cloud release upload`: sends the bundles `npm run release` wrote (release-out/) to a cloud over its
// admin API: creates the release with its notes, then one PUT per platform with the tarball streamed from disk
// and the signed manifest in headers. The cloud checks each one like a box would; a refusal names the reason.
import { readdirSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface UploadOptions {
  /** The cloud's base URL. */
  cloud: string;
  /** An admin session token (POST /api/v1/auth/login). */
  token: string;
  dir: string;
  version: string;
  notes: string;
  log?: (line: string) => void;
}

interface Answer {
  status: number;
  body: { code?: string; message?: string; detail?: unknown } & Record<string, unknown>;
}

function call(
  opts: UploadOptions,
  method: string,
  path: string,
  body: { json?: unknown; file?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const url = new URL(path, opts.cloud);
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...body.headers };
  let payload: Buffer | null = null;
  if (body.json !== undefined) {
    payload = Buffer.from(JSON.stringify(body.json));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  } else if (body.file) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(statSync(body.file).size);
  }
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method, headers },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Answer['body'] = {};
          try {
            parsed = text ? (JSON.parse(text) as Answer['body']) : {};
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.end(payload);
    else if (body.file) {
      const stream = createReadStream(body.file);
      stream.on('error', (err) => req.destroy(err));
      // A refusal before the body was read closes the connection: the answer still arrives.
      req.on('response', () => stream.unpipe(req));
      stream.pipe(req);
    } else req.end();
  });
}

const problem = (a: Answer) =>
  `${a.status} ${a.body.code ?? ''}: ${a.body.message ?? JSON.stringify(a.body)}`.trim();

/** The manifests of `version` in `dir` (one per platform). */
export function bundlesIn(dir: string, version: string): { platform: string; manifest: string }[] {
  const prefix = `motcua-lobby-${version}-`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.manifest.json'))
    .sort()
    .map((f) => ({ platform: f.slice(prefix.length, -'.manifest.json'.length), manifest: join(dir, f) }));
}

/** Uploads every platform's bundle of `version`; throws with the cloud's reason on the first refusal. */
export async function uploadRelease(opts: UploadOptions): Promise<Record<string, unknown>> {
  const log = opts.log ?? (() => undefined);
  const bundles = bundlesIn(opts.dir, opts.version);
  if (bundles.length === 0)
    throw new Error(
      `no bundle of version ${opts.version} in ${opts.dir} (motcua-lobby-${opts.version}-*.manifest.json)`,
    );
  const created = await call(opts, 'POST', '/api/v1/releases', {
    json: { version: opts.version, notes: opts.notes },
  });
  if (created.status === 409 && created.body.code === 'release_exists')
    log(`release ${opts.version} exists on the cloud: uploading its missing bundles`);
  else if (created.status !== 201) throw new Error(`creating release ${opts.version}: ${problem(created)}`);
  let last: Record<string, unknown> = created.body;
  for (const b of bundles) {
    const manifestBytes = readFileSync(b.manifest);
    const { file } = JSON.parse(manifestBytes.toString('utf8')) as { file: string };
    const t0 = Date.now();
    const res = await call(opts, 'PUT', `/api/v1/releases/${opts.version}/bundles/${b.platform}`, {
      file: join(opts.dir, file),
      headers: {
        'x-release-manifest': manifestBytes.toString('base64'),
        'x-release-signature': readFileSync(b.manifest.replace(/\.json$/, '.sig'), 'utf8').trim(),
      },
    });
    if (res.status !== 200) throw new Error(`${b.platform}: refused: ${problem(res)}`);
    log(`${b.platform}: uploaded and verified (${file}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    last = res.body;
  }
  return last;
}

/** An admin session token from a username and password. */
export async function loginToCloud(cloud: string, username: string, password: string): Promise<string> {
  const res = await fetch(new URL('/api/v1/auth/login', cloud), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (res.status !== 200 || !body.token)
    throw new Error(`login refused: ${res.status} ${body.message ?? ''}`);
  return body.token;
}
