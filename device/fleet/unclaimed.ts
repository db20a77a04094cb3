// Zero touch: a new box with no office config. It says on the terminal and on a local page how to claim it;
// a technician types or scans the claim code an admin made in the console (or runs `lobby device claim`),
// the box enrolls with its cloud, fetches its office's config (the twin's target), writes it as its config
// file, and then starts as any box does. Nobody edits a file on site.
import { existsSync, mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import got from 'got';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { ConfigError, validateConfig } from '../../protocol/config/validate.js';
import { BoxTarget, configHash } from '../../protocol/fleet.js';
import { boxToken, isValid, parseClaim } from '../../protocol/index.js';
import { CLAIM_FORM_MAX_BYTES } from '../../protocol/limits.js';
import {
  EnrollmentRefused,
  readCredential,
  requestEnrollment,
  writeCredential,
  type BoxCredential,
} from '../uplink/credential.js';
import { backoffDelay } from '../uplink/uplink.js';
import { writeDurably } from './files.js';
import { LONG_POLL_SECONDS } from './poller.js';

export interface UnclaimedOptions {
  /** Where the office config will be written (YAML, or JSON when it ends in .json). */
  configFile: string;
  dataDir: string;
  /** The claim page: where it listens (the box's HTTP port, as its admin page later). */
  httpHost: string;
  httpPort: number;
  /** Set at install (LOBBY_CLOUD_URL): the only cloud this box may be claimed for. */
  presetCloud?: string;
  log: Logger;
  /** Tells the caller where the claim page listens (tests, the unbox script). */
  onListening?: (port: number) => void;
}

type Phase =
  | { kind: 'unclaimed'; error?: string }
  | { kind: 'claimed'; office: string; cloud: string; note?: string }
  | { kind: 'configured'; office: string };

const CLOUD_URL = /^https?:\/\/[^\s]+[^/\s]$/;

export const credentialFileIn = (dataDir: string): string => join(dataDir, 'cloud-credential.json');

/** Claims the box with a code (the page, or `lobby device claim`): enrolls and writes the credential. */
export async function claimBox(o: {
  dataDir: string;
  claim: string;
  cloud?: string;
  presetCloud?: string;
}): Promise<BoxCredential> {
  const parsed = parseClaim(o.claim);
  if (!parsed) throw new ClaimError('mã nhận máy không hợp lệ / not a claim code (XXXX-XXXX-XXXX-XXXX)');
  const cloud = (parsed.cloud ?? o.cloud ?? o.presetCloud ?? '').replace(/\/+$/, '');
  if (!CLOUD_URL.test(cloud))
    throw new ClaimError('thiếu địa chỉ máy chủ / the cloud address is missing or not an http(s) URL');
  if (o.presetCloud && cloud !== o.presetCloud.replace(/\/+$/, ''))
    throw new ClaimError(`this box may only be claimed for ${o.presetCloud} (set at install)`);
  const file = credentialFileIn(o.dataDir);
  if (existsSync(file)) throw new ClaimError('this box is already claimed');
  let credential: BoxCredential;
  try {
    credential = await requestEnrollment(cloud, { claimCode: parsed.code });
  } catch (err) {
    if (err instanceof EnrollmentRefused)
      throw new ClaimError(
        err.code === 'claim_invalid'
          ? 'mã không đúng, đã dùng hoặc đã hết hạn / unknown, used or expired claim code'
          : err.message,
      );
    throw new ClaimError(`không kết nối được máy chủ / the cloud did not answer: ${(err as Error).message}`);
  }
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  writeCredential(file, credential);
  return credential;
}

export class ClaimError extends Error {}

/** Waits until the box has an office config file: claim (page or CLI), then the cloud's target. */
export async function awaitOfficeConfig(o: UnclaimedOptions): Promise<void> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  let phase: Phase = { kind: 'unclaimed' };
  let claiming = false;
  const app = Fastify({ bodyLimit: CLAIM_FORM_MAX_BYTES, logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(page(phase, o.presetCloud)));
  app.get('/claim/status', () => phase);
  app.post('/claim', async (req, reply) => {
    const form = (req.body ?? {}) as { code?: string; cloud?: string };
    if (phase.kind !== 'unclaimed' || claiming)
      return reply.code(409).send({ code: 'claim_in_progress', message: 'this box is being or was claimed' });
    claiming = true;
    try {
      const c = await claimBox({
        dataDir: o.dataDir,
        claim: String(form.code ?? ''),
        ...(form.cloud ? { cloud: String(form.cloud) } : {}),
        ...(o.presetCloud ? { presetCloud: o.presetCloud } : {}),
      });
      phase = { kind: 'claimed', office: c.officeId, cloud: c.cloudUrl };
      o.log.info({ office: c.officeId, box: c.boxId, cloud: c.cloudUrl }, 'box claimed');
    } catch (err) {
      if (!(err instanceof ClaimError)) throw err;
      phase = { kind: 'unclaimed', error: err.message };
      o.log.warn({ err: err.message }, 'claim refused');
    } finally {
      claiming = false;
    }
    const wantsJson = (req.headers.accept ?? '').includes('application/json');
    if (wantsJson) return reply.code(phase.kind === 'claimed' ? 200 : 400).send(phase);
    return reply.redirect('/', 303);
  });
  await app.listen({ host: o.httpHost, port: o.httpPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.httpPort;
  o.onListening?.(port);
  const urls = addresses().map((a) => `http://${a}:${port}/`);
  o.log.warn(
    { httpPort: port, urls, presetCloud: o.presetCloud ?? null },
    `box unclaimed: no office config yet. Claim it: open ${urls[0] ?? `http://<this box>:${port}/`} and enter the claim code from the cloud console, or run: lobby device claim --code <code> --cloud <url>`,
  );

  try {
    let credential: BoxCredential | null = null;
    while (!(credential = readCredential(credentialFileIn(o.dataDir)))) await sleep(250);
    if (phase.kind === 'unclaimed')
      phase = { kind: 'claimed', office: credential.officeId, cloud: credential.cloudUrl };
    await fetchOfficeConfig(o, credential, (note) => {
      phase = { kind: 'claimed', office: credential.officeId, cloud: credential.cloudUrl, note };
    });
    phase = { kind: 'configured', office: credential.officeId };
  } finally {
    await app.close();
  }
}

/** Long-polls the cloud until it holds this office's config; writes it as the config file. */
async function fetchOfficeConfig(
  o: UnclaimedOptions,
  c: BoxCredential,
  say: (note: string) => void,
): Promise<void> {
  let after = 0;
  let failures = 0;
  for (;;) {
    try {
      const res = await got.get(`${c.cloudUrl}/api/v1/box/target`, {
        searchParams: { version: after, wait: LONG_POLL_SECONDS },
        headers: { authorization: `Bearer ${boxToken(c.boxId, c.secret)}` },
        responseType: 'json',
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: (LONG_POLL_SECONDS + 10) * 1000 },
      });
      failures = 0;
      if (res.statusCode === 204) {
        say('đang chờ cấu hình của văn phòng trên máy chủ / waiting for the office config in the console');
        continue;
      }
      if (res.statusCode !== 200 || !isValid(BoxTarget, res.body))
        throw new Error(`the cloud answered ${res.statusCode}`);
      const target = res.body;
      const problem = officeConfigProblem(target, c);
      if (problem) {
        after = target.version;
        say(`cấu hình bị từ chối / config refused: ${problem}`);
        o.log.error({ version: target.version, problem }, 'the office config from the cloud is refused');
        continue;
      }
      const text = o.configFile.endsWith('.json')
        ? JSON.stringify(target.config, null, 2) + '\n'
        : stringify(target.config);
      writeDurably(o.configFile, text);
      o.log.info(
        { version: target.version, office: c.officeId, file: o.configFile },
        'office config received',
      );
      return;
    } catch (err) {
      failures++;
      say(`không kết nối được máy chủ / cannot reach the cloud: ${(err as Error).message}`);
      await sleep(backoffDelay(failures, 1000, 60_000));
    }
  }
}

function officeConfigProblem(target: BoxTarget, c: BoxCredential): string | null {
  if (configHash(target.config) !== target.hash) return 'the config does not match its hash';
  try {
    const cfg = validateConfig(target.config, 'office config');
    if (!cfg.cloud) return 'cloud: the config has no cloud section';
    if (cfg.office.id !== c.officeId) return `office.id: "${cfg.office.id}" is not this box's office`;
    return null;
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw e;
  }
}

function addresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(phase: Phase, presetCloud?: string): string {
  const body =
    phase.kind === 'unclaimed'
      ? `<p>Máy này chưa được gán cho bộ phận một cửa nào. Nhập (hoặc quét) mã nhận máy do quản trị viên tạo trên
  trang quản trị.<br><small>This box has no office yet: type or scan the claim code an admin made in the cloud
  console.</small></p>
  ${phase.error ? `<p class="err" role="alert">${esc(phase.error)}</p>` : ''}
  <form method="post" action="/claim">
    <label>Mã nhận máy / claim code<br><input name="code" autocomplete="off" autofocus required
      placeholder="XXXX-XXXX-XXXX-XXXX"></label>
    ${
      presetCloud
        ? `<p><small>Máy chủ / cloud: ${esc(presetCloud)}</small></p>`
        : `<label>Địa chỉ máy chủ / cloud URL (không cần nếu quét mã QR)<br><input name="cloud" type="url"
      placeholder="https://motcua.tinh.gov.vn"></label>`
    }
    <button type="submit">Nhận máy / Claim</button>
  </form>`
      : phase.kind === 'claimed'
        ? `<p>Đã gán cho văn phòng <b>${esc(phase.office)}</b> (${esc(phase.cloud)}). Đang tải cấu hình…<br>
  <small>Claimed for office ${esc(phase.office)}; fetching its configuration…</small></p>
  ${phase.note ? `<p>${esc(phase.note)}</p>` : ''}<meta http-equiv="refresh" content="2">`
        : `<p>Đã nhận cấu hình. Máy đang khởi động… / Configured; the box is starting.</p>`;
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Nhận máy — motcua-lobby</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:18px system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em}input{font:inherit;width:100%;padding:.4em}
button{font:inherit;padding:.5em 1.5em;margin-top:1em}.err{color:#b00020}label{display:block;margin-top:1em}</style>
</head><body><h1>Nhận máy / Claim this box</h1>${body}</body></html>`;
}
