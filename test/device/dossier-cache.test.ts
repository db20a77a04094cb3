// What the box keeps of the cloud's dossier answers, and what it refuses to take from the cloud: bounded in
// count and age, and a cloud answer that is too large, too slow or not a dossier is never used.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOSSIER_CACHE_FILE, DossierCache } from '../../device/dossiers/cache.js';
import { CloudUnreachable, DossierCloud } from '../../device/dossiers/cloud-client.js';
import { DOSSIER_CLOUD_ANSWER_MAX_BYTES, type DossierLookupAnswer } from '../../protocol/index.js';

const answer = (code: string): DossierLookupAnswer => ({
  code,
  procedure: '1.001234',
  procedureName: 'Đăng ký khai sinh',
  service: 'ho-tich',
  status: 'processing',
  receivedAt: '2026-12-01T02:00:00.000Z',
  dueAt: '2026-12-10T02:00:00.000Z',
  returnedAt: null,
  office: { id: 'o-hkb', name: 'Một cửa Hòa Khánh Bắc' },
  onTime: null,
  readyToCollect: false,
  overdue: false,
  asOf: '2026-12-06T02:00:00.000Z',
});
const code = (n: number) => `000.00.04.H12-261201-${String(n).padStart(4, '0')}`;

describe('the dossier cache', () => {
  it('keeps the most recently fetched answers up to its size, none older than its age, owner-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lobby-cache-'));
    const cache = new DossierCache(dir, { maxEntries: 3, maxAgeMs: 10_000 });
    for (let i = 1; i <= 5; i++) cache.keepAnswer(answer(code(i)), 1000 * i);
    expect(cache.size()).toBe(3);
    expect(cache.answer(code(1), 5000)).toBeNull();
    expect(cache.answer(code(5), 5000)).toEqual({ value: answer(code(5)), fetchedAt: 5000 });
    // Too old to show, however the cloud is.
    expect(cache.answer(code(3), 3000 + 10_001)).toBeNull();
    cache.forget(code(5));
    expect(cache.answer(code(5), 5000)).toBeNull();
    expect(statSync(join(dir, DOSSIER_CACHE_FILE)).mode & 0o777).toBe(0o600);
    cache.close();
  });
});

describe("what the box takes from the cloud's dossier routes", () => {
  let server: Server;
  let url: string;
  const routes = new Map<string, (res: ServerResponse) => void>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const code = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      const route = routes.get(code);
      if (route) route(res);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not_found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a dossier, or null when the cloud has none', async () => {
    routes.set(code(1), (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(code(1)))),
    );
    const cloud = new DossierCloud(url, 'box.secret');
    expect(await cloud.lookup(code(1))).toEqual(answer(code(1)));
    expect(await cloud.lookup(code(2))).toBeNull();
  });

  it('an answer larger than DOSSIER_CLOUD_ANSWER_MAX_BYTES is cut off and not used', async () => {
    routes.set(code(3), (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const big = { ...answer(code(3)), procedureName: 'x'.repeat(DOSSIER_CLOUD_ANSWER_MAX_BYTES + 1024) };
      res.end(JSON.stringify(big));
    });
    await expect(new DossierCloud(url, 'box.secret').lookup(code(3))).rejects.toBeInstanceOf(
      CloudUnreachable,
    );
  });

  it('an answer too slow, a refusal or something that is not a dossier is not used', async () => {
    routes.set(code(4), () => undefined); // never answers
    routes.set(code(5), (res) =>
      res.writeHead(429, { 'content-type': 'application/json' }).end('{"code":"rate_limited"}'),
    );
    routes.set(code(6), (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"x"}'),
    );
    const cloud = new DossierCloud(url, 'box.secret', 300);
    const started = Date.now();
    await expect(cloud.lookup(code(4))).rejects.toBeInstanceOf(CloudUnreachable);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(cloud.lookup(code(5))).rejects.toThrow(/429 rate_limited/);
    await expect(cloud.lookup(code(6))).rejects.toThrow(/not a dossier/);
  });
});
