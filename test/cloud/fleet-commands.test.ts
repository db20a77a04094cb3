// Fleet commands as an admin and a box meet them, on SQLite and PostgreSQL: an admin queues a command for an
// office's box and follows it (pending → delivered → succeeded / failed with the reason, or expired, or
// cancelled); the box's held poll is answered at once; a command past its expiry is never delivered and shows
// expired; viewers read, admins act, nobody outside the unit; every action audited; bad input refused with a
// reason; results idempotent, and refused for unknown, foreign, expired or cancelled commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudService } from '../../cloud/service.js';
import {
  COMMAND_PARAMS_MAX_BYTES,
  COMMAND_RESULT_MAX_BYTES,
  COMMANDS_PENDING_PER_BOX_MAX,
  type BoxCommand,
} from '../../protocol/fleet-commands.js';
import type { BoxPoll } from '../../protocol/fleet.js';
import {
  DATABASES,
  adminToken,
  enrolledBox,
  seedTree,
  startTestCloud,
  type TestDatabase,
} from './helpers.js';

interface View {
  id: string;
  boxId: string;
  seq: number;
  kind: string;
  state: string;
  reason: string | null;
  result?: unknown;
  resultBytes: number | null;
  expiresAt: string;
  code?: string;
  message?: string;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

for (const kind of DATABASES) {
  describe.skipIf(!kind.available)(`fleet commands (${kind.title})`, () => {
    let db: TestDatabase;
    let cloud: CloudService;
    let offset = 0;
    let province: string;
    let commune: string;
    let viewer: string;
    let box: { boxId: string; token: string };
    let otherBox: { boxId: string; token: string };

    beforeAll(async () => {
      db = kind.create();
      cloud = await startTestCloud(db, {
        settings: { loginsPerMinute: 50 },
        clock: () => Date.now() + offset,
      });
      await seedTree(cloud);
      province = await adminToken(cloud, 'tinh', 'dn');
      commune = await adminToken(cloud, 'hkb-admin', 'hkb');
      viewer = await adminToken(cloud, 'lc-viewer', 'lc', 'viewer');
      box = await enrolledBox(cloud, 'o-hkb');
      otherBox = await enrolledBox(cloud, 'o-hc');
    });
    afterAll(async () => {
      const closing = cloud?.close();
      cloud?.app.server.closeAllConnections();
      await closing;
      await db?.cleanup();
    });

    const as = async (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) => {
      const res = await cloud.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      });
      return { status: res.statusCode, body: res.json<View & { commands: View[] }>() };
    };
    const queue = (token: string, office: string, body: Record<string, unknown>) =>
      as(token, 'POST', `/api/v1/fleet/offices/${office}/commands`, body);
    // The viewer is in district lc (o-hkb); the province sees o-hc.
    const reader = (office: string) => (office === 'o-hc' ? province : viewer);
    const list = async (office: string, state?: string) =>
      (
        await as(
          reader(office),
          'GET',
          `/api/v1/fleet/offices/${office}/commands${state ? `?state=${state}` : ''}`,
        )
      ).body.commands;
    const read = async (id: string, office = 'o-hkb') =>
      (await as(reader(office), 'GET', `/api/v1/fleet/offices/${office}/commands/${id}`)).body;
    const poll = (token: string, commands: number, wait = 0, signal?: AbortSignal) =>
      fetch(`${cloud.url}/api/v1/box/poll?version=0&commands=${commands}&software=&wait=${wait}`, {
        headers: { authorization: `Bearer ${token}` },
        ...(signal ? { signal } : {}),
      });
    const result = (token: string, id: string, body: Record<string, unknown>) =>
      cloud.app.inject({
        method: 'POST',
        url: `/api/v1/box/commands/${id}/result`,
        headers: { authorization: `Bearer ${token}` },
        payload: { at: new Date().toISOString(), ...body },
      });
    const pending = async (token: string, acked: number) => {
      const res = await poll(token, acked);
      return res.status === 204 ? [] : ((await res.json()) as BoxPoll).commands;
    };

    it('an admin queues a notice; the box gets it in its poll, it shows delivered, then succeeded with its result', async () => {
      const q = await queue(commune, 'o-hkb', {
        kind: 'notice',
        params: { text: { vi: 'Chiều nay nghỉ' }, until: inAnHour() },
      });
      expect(q.status, JSON.stringify(q.body)).toBe(201);
      expect(q.body).toMatchObject({ boxId: box.boxId, seq: 1, kind: 'notice', state: 'pending' });
      expect((await list('o-hkb')).map((c) => c.state)).toEqual(['pending']);

      const got = await pending(box.token, 0);
      expect(got).toEqual([
        expect.objectContaining({ id: q.body.id, seq: 1, kind: 'notice', params: expect.anything() }),
      ]);
      // Still pending until the box says it holds seq 1: then delivered, and not sent again.
      expect((await read(q.body.id)).state).toBe('pending');
      expect(await pending(box.token, 1)).toEqual([]);
      expect((await read(q.body.id)).state).toBe('delivered');
      expect((await list('o-hkb', 'delivered')).map((c) => c.id)).toEqual([q.body.id]);

      const r = await result(box.token, q.body.id, {
        state: 'succeeded',
        result: { until: inAnHour(), boards: ['led-1'] },
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(await read(q.body.id)).toMatchObject({ state: 'succeeded', result: { boards: ['led-1'] } });
      // Sent again (a lost answer): the same outcome is fine; another one is refused.
      expect(
        (
          await result(box.token, q.body.id, {
            state: 'succeeded',
            result: { until: inAnHour(), boards: [] },
          })
        ).statusCode,
      ).toBe(200);
      const other = await result(box.token, q.body.id, { state: 'failed', reason: 'x' });
      expect(other.statusCode).toBe(409);
      expect(other.json()).toMatchObject({ code: 'already_finished' });
    });

    it('a held poll is answered as soon as a command is queued', async () => {
      const t0 = Date.now();
      const held = poll(box.token, 1, 20);
      await new Promise((r) => setTimeout(r, 300)); // the poll is waiting
      const q = await queue(commune, 'o-hkb', { kind: 'counter', params: { counter: 1, action: 'close' } });
      expect(q.status).toBe(201);
      const res = await held;
      expect(res.status).toBe(200);
      expect(((await res.json()) as BoxPoll).commands.map((c) => c.id)).toEqual([q.body.id]);
      expect(Date.now() - t0).toBeLessThan(10_000);
      const failed = await result(box.token, q.body.id, {
        state: 'failed',
        reason: 'ticket_in_progress: counter 1 is serving A001',
      });
      expect(failed.statusCode).toBe(200);
      expect(await read(q.body.id)).toMatchObject({
        state: 'failed',
        reason: 'ticket_in_progress: counter 1 is serving A001',
      });
    });

    it('a command past its expiry is never delivered, shows expired, and its late result is refused', async () => {
      const q = await queue(commune, 'o-hkb', {
        kind: 'test-call',
        params: { counter: 1 },
        expiresInSeconds: 60,
      });
      expect(q.status).toBe(201);
      offset += 61_000; // the box was offline for a minute (the clock never goes back)
      {
        expect(await pending(box.token, 2)).toEqual([]);
        expect((await read(q.body.id)).state).toBe('expired');
        expect((await list('o-hkb', 'expired')).map((c) => c.id)).toEqual([q.body.id]);
        expect((await list('o-hkb', 'pending')).map((c) => c.id)).not.toContain(q.body.id);
        const late = await result(box.token, q.body.id, {
          state: 'succeeded',
          result: { counter: 1, announcers: [] },
        });
        expect(late.statusCode).toBe(409);
        expect(late.json()).toMatchObject({ code: 'command_expired' });
        // Cancelling it is refused too: nothing is pending any more.
        const c = await as(commune, 'POST', `/api/v1/fleet/offices/o-hkb/commands/${q.body.id}/cancel`);
        expect(c.status).toBe(409);
      }
    });

    it('an admin cancels a pending command: the box never gets it, and its result is refused', async () => {
      const q = await queue(commune, 'o-hkb', { kind: 'restart' });
      const c = await as(commune, 'POST', `/api/v1/fleet/offices/o-hkb/commands/${q.body.id}/cancel`);
      expect(c.status).toBe(200);
      expect(c.body.state).toBe('cancelled');
      expect(await pending(box.token, 2)).toEqual([]);
      const late = await result(box.token, q.body.id, { state: 'failed', reason: 'x' });
      expect(late.json()).toMatchObject({ code: 'command_cancelled' });
    });

    it('diagnostics of ~200 KiB are uploaded and viewable with their log lines; a result over the limit is refused', async () => {
      const q = await queue(province, 'o-hkb', { kind: 'diagnostics', params: { logLines: 500 } });
      const [cmd] = (await pending(box.token, 0)).filter((c: BoxCommand) => c.id === q.body.id);
      expect(cmd).toBeDefined();
      const logs = Array.from(
        { length: 500 },
        (_, i) => `{"level":30,"msg":"line ${i}","pad":"${'x'.repeat(350)}"}`,
      );
      const diag = {
        at: new Date().toISOString(),
        health: { status: 'ok' },
        versions: { software: '1.0.0', node: process.version, config: { source: 'file' } },
        disk: { dataDir: '/var/lib/lobby', freeBytes: 1e9, totalBytes: 8e9 },
        uptimeSeconds: 12,
        peripherals: [{ id: 'kiosk-1', role: 'kiosk', counter: null, online: true, status: null }],
        logs,
      };
      const r = await result(box.token, q.body.id, { state: 'succeeded', result: diag });
      expect(r.statusCode, r.body).toBe(200);
      const v = await read(q.body.id);
      expect(v.resultBytes).toBeGreaterThan(180_000);
      expect((v.result as { logs: string[] }).logs[499]).toContain('line 499');

      const big = await queue(province, 'o-hkb', { kind: 'diagnostics' });
      const huge = { ...diag, logs: Array.from({ length: 800 }, () => 'y'.repeat(400)) };
      expect(JSON.stringify(huge).length).toBeGreaterThan(COMMAND_RESULT_MAX_BYTES);
      const refused = await result(box.token, big.body.id, { state: 'succeeded', result: huge });
      expect(refused.statusCode).toBe(413);
      expect((await read(big.body.id)).state).toBe('pending');
      // A result that is not what the kind returns is refused, naming the field.
      const wrong = await result(box.token, big.body.id, { state: 'succeeded', result: { logs: 3 } });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json()).toMatchObject({ code: 'result_invalid' });
    });

    it("a box cannot see, receive or answer another box's commands", async () => {
      const q = await queue(province, 'o-hc', { kind: 'restart' });
      expect(q.body.boxId).toBe(otherBox.boxId);
      expect((await pending(box.token, 0)).map((c) => c.id)).not.toContain(q.body.id);
      const foreign = await result(box.token, q.body.id, { state: 'succeeded', result: {} });
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json()).toMatchObject({ code: 'unknown_command' });
      expect((await result(box.token, 'cmd-nope', { state: 'failed', reason: 'x' })).statusCode).toBe(404);
      expect((await read(q.body.id, 'o-hc')).state).toBe('pending');
    });

    it('viewers read, admins act, nobody outside their unit; every action is in the audit log', async () => {
      const byViewer = await queue(viewer, 'o-hkb', { kind: 'restart' });
      expect(byViewer.status).toBe(403);
      expect((await as(viewer, 'GET', '/api/v1/fleet/offices/o-hkb/commands')).status).toBe(200);
      const outside = await queue(commune, 'o-hc', { kind: 'restart' });
      expect(outside.status).toBe(403);
      expect(outside.body.code).toBe('outside_scope');
      expect((await as(commune, 'GET', '/api/v1/fleet/offices/o-hc/commands')).status).toBe(403);
      const [hc] = await list('o-hkb');
      expect((await as(commune, 'GET', `/api/v1/fleet/offices/o-hc/commands/${hc?.id}`)).status).toBe(403);

      const rows = await cloud.store.db
        .selectFrom('audit_log')
        .select(['actor', 'action', 'target', 'outcome', 'detail'])
        .where('action', 'like', 'fleet.command.%')
        .orderBy('id')
        .execute();
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:hkb-admin',
          action: 'fleet.command.queued',
          target: 'o-hkb',
          outcome: 'ok',
        }),
      );
      const notice = rows.find((r) => r.outcome === 'ok' && r.detail?.includes('"notice"'));
      expect(JSON.parse(notice?.detail ?? '{}')).toMatchObject({
        status: 201,
        detail: { kind: 'notice', box: box.boxId, params: { text: { vi: 'Chiều nay nghỉ' } } },
      });
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:lc-viewer',
          action: 'fleet.command.queued',
          outcome: 'denied',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({
          actor: 'admin:hkb-admin',
          action: 'fleet.command.queued',
          target: 'o-hc',
          outcome: 'denied',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({ action: 'fleet.command.cancelled', outcome: 'ok' }),
      );
    });

    it('bad input is refused with a reason and nothing is queued', async () => {
      const before = (await list('o-hkb')).length;
      const cases: [Record<string, unknown>, number, string][] = [
        [{ kind: 'format-disk' }, 400, 'unknown_command_kind'],
        [{ kind: 'counter', params: { counter: 0, action: 'open' } }, 400, 'invalid_params'],
        [{ kind: 'counter', params: { counter: 1, action: 'open', extra: 1 } }, 400, 'invalid_params'],
        [{ kind: 'reprint', params: {} }, 400, 'invalid_params'],
        [
          {
            kind: 'notice',
            params: { text: { vi: 'x'.repeat(COMMAND_PARAMS_MAX_BYTES) }, until: inAnHour() },
          },
          400,
          'params_too_large',
        ],
        [
          { kind: 'notice', params: { text: { vi: 'cũ' }, until: '2020-01-01T00:00:00Z' } },
          400,
          'invalid_params',
        ],
        [{ kind: 'notice', params: { text: { vi: 'x' }, until: 'tomorrow-ish' } }, 400, 'invalid_params'],
        [{ kind: 'restart', expiresInSeconds: 31 * 86400 }, 400, 'invalid_expiry'],
        [{ kind: 'restart', expiresInSeconds: 5 }, 400, 'invalid_expiry'],
        [{ kind: 'restart', boxId: otherBox.boxId }, 409, 'no_box'],
      ];
      for (const [body, status, code] of cases) {
        const r = await queue(commune, 'o-hkb', body);
        expect([r.status, r.body.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
      }
      expect(
        (await queue(commune, 'o-hkb', { kind: 'counter', params: { counter: 0, action: 'open' } })).body
          .message,
      ).toMatch(/counter/);
      // An office without a box.
      expect((await queue(province, 'o-hhb', { kind: 'restart' })).body.code).toBe('no_box');
      expect((await list('o-hkb')).length).toBe(before);
    });

    it(`at most ${COMMANDS_PENDING_PER_BOX_MAX} unfinished commands per box; a poll carries them oldest first, in pages`, async () => {
      const open = (await list('o-hc', 'pending')).length + (await list('o-hc', 'delivered')).length;
      for (let i = open; i < COMMANDS_PENDING_PER_BOX_MAX; i++)
        expect((await queue(province, 'o-hc', { kind: 'test-call', params: { counter: 1 } })).status).toBe(
          201,
        );
      const over = await queue(province, 'o-hc', { kind: 'test-call', params: { counter: 1 } });
      expect([over.status, over.body.code]).toEqual([409, 'too_many_commands']);
      const first = await pending(otherBox.token, 0);
      expect(first).toHaveLength(20);
      expect(first.map((c) => c.seq)).toEqual([...first.map((c) => c.seq)].sort((a, b) => a - b));
      const next = await pending(otherBox.token, first.at(-1)?.seq ?? 0);
      expect(next[0]?.seq).toBe((first.at(-1)?.seq ?? 0) + 1);
    });
  });
}
