// `lobby cloud` as a child process (dist/ must be built): started on a port it picks itself (port 0, read back
// from its 'cloud started' line) or on a given one (a restart comes back where its boxes expect it).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './box-process.js';

export interface CloudProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the cloud wrote to stdout (its JSON log). */
  output: () => string;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every cloud this process started and has not seen exit (an afterAll). */
export function killAllClouds(): void {
  for (const c of children) c.kill('SIGKILL');
}

export function startCloudProcess(opts: {
  db: { url: string; schema?: string };
  /** 0 (the default): any free port, read back from the log. */
  port?: number;
  /** The cloud master key (LOBBY_CLOUD_KEY). */
  key: Buffer;
  publicUrl?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<CloudProcess> {
  const args = [
    CLI,
    'cloud',
    '--db',
    opts.db.url,
    ...(opts.db.schema ? ['--db-schema', opts.db.schema] : []),
    '--port',
    String(opts.port ?? 0),
    '--host',
    '127.0.0.1',
    ...(opts.publicUrl ? ['--public-url', opts.publicUrl] : []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', LOBBY_CLOUD_KEY: opts.key.toString('base64url'), ...opts.env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cloud did not start: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout += `${line}\n`;
      try {
        const log = JSON.parse(line) as { msg?: string; port?: number };
        if (log.msg === 'cloud started' && log.port) {
          clearTimeout(timer);
          const url = `http://127.0.0.1:${log.port}`;
          resolve({ child, port: log.port, url, output: () => stdout });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cloud exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

/** An admin's JSON calls to a cloud process: the status and the parsed answer (null when not JSON). */
export function cloudApi(cloud: { url: string }, token: () => string) {
  return async <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cloud.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed as T };
  };
}

/** Logs an admin in to a cloud process; the session token. */
export async function loginAdmin(
  cloud: { url: string },
  username: string,
  password: string,
): Promise<string> {
  const res = await fetch(`${cloud.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Resolves with `check`'s first truthy answer, asked every 25 ms; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | false | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
