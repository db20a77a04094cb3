// What the cloud knows about this box's log, and the two admin commands that replace a log the box refused
// (`lobby device new-log`, `lobby device recover-log`). The cloud keeps every event it acknowledged; a box that
// lost its log reads back the current day from there (GET /api/v1/uplink/events) so its numbering continues.
// Events the box never uplinked are not in the cloud and cannot be recovered: the commands say how many.
import { existsSync, renameSync, rmSync } from 'node:fs';
import got from 'got';
import type { Logger } from 'pino';
import { UplinkEventsPage, boxToken, isValid } from '../../protocol/index.js';
import type { BoxConfig } from '../config/schema.js';
import {
  createLog,
  eventsFile,
  inspectLog,
  readMarkers,
  setLogAside,
  writeMarkers,
  type LogPlace,
} from '../store/log-identity.js';
import { credentialPath, readCredential } from './credential.js';

/** How long the start check waits for the cloud before starting without its answer (offline boxes start). */
export const START_CLOUD_CHECK_TIMEOUT_MS = 5000;
/** Events per page when reading back the log (the cloud's BOX_EVENTS_PAGE_MAX caps it). */
const RECOVERY_PAGE = 1000;

/** One page of the cloud's copy of this box's events; null when the box is not enrolled. */
export async function cloudEventsPage(
  config: BoxConfig,
  dataDir: string,
  q: { after: number; limit: number },
  timeoutMs = 30_000,
): Promise<UplinkEventsPage | null> {
  if (!config.cloud) return null;
  const credential = readCredential(credentialPath(config, dataDir));
  if (!credential) return null;
  const res = await got.get(`${config.cloud.url.replace(/\/+$/, '')}/api/v1/uplink/events`, {
    searchParams: { after: q.after, limit: q.limit },
    headers: { authorization: `Bearer ${boxToken(credential.boxId, credential.secret)}` },
    timeout: { request: timeoutMs },
    retry: { limit: timeoutMs >= 30_000 ? 3 : 0 },
    throwHttpErrors: false,
    responseType: 'json',
  });
  const body = res.body as unknown;
  if (res.statusCode !== 200 || !isValid(UplinkEventsPage, body)) {
    const e = body as { code?: string; message?: string } | undefined;
    throw new Error(`the cloud answered ${res.statusCode} ${e?.code ?? ''} ${e?.message ?? ''}`.trim());
  }
  return body;
}

/** For the start check: the cloud's acknowledged seq, or null (not enrolled, unreachable: said in the log). */
export async function cloudAckedSeqAtStart(
  config: BoxConfig,
  dataDir: string,
  log: Logger,
): Promise<number | null> {
  try {
    const page = await cloudEventsPage(config, dataDir, { after: 0, limit: 0 }, START_CLOUD_CHECK_TIMEOUT_MS);
    return page?.ackedSeq ?? null;
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      "start check: the cloud could not be asked how far it has this box's events; starting on the local checks only",
    );
    return null;
  }
}

export interface LogCommandOptions extends LogPlace {
  config: BoxConfig;
  reason: string;
}

export interface NewLogResult {
  logId: string;
  previousLogId: string | null;
  baseSeq: number;
  setAside: string | null;
  cloudAckedSeq: number | null;
}

/**
 * `lobby device new-log`: keeps the old log aside (never deleted), starts an empty one that continues the
 * sequence numbers after everything known (markers, the old log, the cloud), and records why. An enrolled box
 * must reach its cloud (or be told `withoutCloud`): a new log numbered below what the cloud has would be
 * dropped by it as duplicates.
 */
export async function startNewLog(o: LogCommandOptions & { withoutCloud?: boolean }): Promise<NewLogResult> {
  const file = eventsFile(o.dataDir);
  const markers = readMarkers(o);
  const old = inspectLog(file);
  let cloudAckedSeq: number | null = null;
  if (!o.withoutCloud) {
    try {
      cloudAckedSeq = (await cloudEventsPage(o.config, o.dataDir, { after: 0, limit: 0 }))?.ackedSeq ?? null;
    } catch (err) {
      throw new Error(
        `the cloud could not be asked how far it has this box's events (${(err as Error).message}); ` +
          'retry when it is reachable, or pass --without-cloud (the new log then continues after the last ' +
          'sequence number known on this box, and the cloud drops any event numbered at or below what it has)',
      );
    }
  }
  const baseSeq = Math.max(
    0,
    cloudAckedSeq ?? 0,
    ...markers.map((m) => m.marker.lastSeq),
    old.state === 'ok' ? old.headSeq : 0,
  );
  const previousLogId = (old.state === 'ok' ? old.logId : null) ?? markers[0]?.marker.logId ?? null;
  const aside = setLogAside(o.dataDir, 'replaced');
  const store = createLog(file, { baseSeq, reason: o.reason, previousLogId });
  const logId = store.getMeta('log_id') as string;
  store.close();
  writeMarkers(o, logId, baseSeq);
  return { logId, previousLogId, baseSeq, setAside: aside, cloudAckedSeq };
}

export interface RecoveryResult {
  logId: string;
  previousLogId: string | null;
  ackedSeq: number;
  fromSeq: number;
  events: number;
  day: string | null;
  setAside: string | null;
  /** Sequence numbers this box had reached beyond what the cloud holds: those events are lost. */
  lost: { from: number; to: number } | null;
}

/**
 * `lobby device recover-log`: rebuilds events.db from the cloud's copy of this box's current day (from its
 * latest day.started up to the last acknowledged event). Numbering continues from there. A log that holds
 * events the cloud lacks is not replaced unless `force` (they would be lost).
 */
export async function recoverLogFromCloud(
  o: LogCommandOptions & { force?: boolean; log?: (line: string) => void },
): Promise<RecoveryResult> {
  const say = o.log ?? (() => undefined);
  if (!o.config.cloud)
    throw new Error('the config has no cloud section: there is no cloud copy to recover from');
  const file = eventsFile(o.dataDir);
  const markers = readMarkers(o);
  const old = inspectLog(file);
  const first = await cloudEventsPage(o.config, o.dataDir, { after: 0, limit: 0 });
  if (!first)
    throw new Error(
      `this box is not enrolled (no credential at ${credentialPath(o.config, o.dataDir)}); if the data dir is the ` +
        'wrong one, use the right --data-dir',
    );
  if (first.ackedSeq === 0)
    throw new Error(
      'the cloud has no events of this box: nothing to recover (start a new log with `lobby device new-log`)',
    );
  if (old.state === 'ok' && old.headSeq > first.ackedSeq && !o.force)
    throw new Error(
      `the local log reaches seq ${old.headSeq}, the cloud only ${first.ackedSeq}: recovering would lose ` +
        `${old.headSeq - first.ackedSeq} events the cloud never received. If the box refuses this log for another ` +
        'reason and you accept the loss, pass --force',
    );
  const fromSeq = first.dayStartSeq ?? 1;
  const tmp = `${file}.recovering`;
  for (const s of ['', '-wal', '-shm']) rmSync(tmp + s, { force: true }); // our own leftover from a failed run
  const previousLogId = (old.state === 'ok' ? old.logId : null) ?? markers[0]?.marker.logId ?? null;
  const store = createLog(tmp, {
    baseSeq: first.ackedSeq,
    reason: `${o.reason} (recovered from the cloud: seq ${fromSeq}..${first.ackedSeq})`,
    previousLogId,
  });
  let events = 0;
  let day: string | null = null;
  try {
    let after = fromSeq - 1;
    for (;;) {
      const page = (await cloudEventsPage(o.config, o.dataDir, {
        after,
        limit: RECOVERY_PAGE,
      })) as UplinkEventsPage;
      store.importEvents(page.events);
      events += page.events.length;
      const last = page.events[page.events.length - 1];
      if (last) day = last.day;
      say(`  ${events} events read (to seq ${last?.seq ?? after})`);
      if (page.nextAfter === null || page.nextAfter >= first.ackedSeq) break;
      after = page.nextAfter;
    }
  } catch (err) {
    store.close();
    throw err;
  }
  const logId = store.getMeta('log_id') as string;
  store.close();
  const aside = setLogAside(o.dataDir, 'before-recovery');
  renameSync(tmp, file);
  if (existsSync(`${tmp}-wal`)) renameSync(`${tmp}-wal`, `${file}-wal`);
  writeMarkers(o, logId, first.ackedSeq);
  const reached = Math.max(0, ...markers.map((m) => m.marker.lastSeq), old.state === 'ok' ? old.headSeq : 0);
  return {
    logId,
    previousLogId,
    ackedSeq: first.ackedSeq,
    fromSeq,
    events,
    day,
    setAside: aside,
    lost: reached > first.ackedSeq ? { from: first.ackedSeq + 1, to: reached } : null,
  };
}
