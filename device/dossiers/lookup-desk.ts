// A lookup station's request: the code checked against the formats the box knows (the clerk panel's), the
// station held to its rate, then the cloud asked — or the cache, when the answer is fresh or the cloud cannot
// be reached. The reply says how old the answer is; with no answer at all it says so.
import type { Logger } from 'pino';
import {
  DossierLookupRequest,
  LOOKUP_FRESH_MS,
  LOOKUPS_PER_STATION_PER_MINUTE,
  errorBody,
  parsePayload,
  type DossierLookupAnswer,
  type DossierLookupResult,
  type ErrorBody,
  type Reply,
} from '../../protocol/index.js';
import type { Identity } from '../broker/acl.js';
import type { DossierCache } from './cache.js';
import { CloudUnreachable, type DossierCloud } from './cloud-client.js';

const MINUTE = 60_000;

export interface LookupDeskOptions {
  /** The cloud client, or null when the box has no cloud or is not enrolled. */
  cloud: () => DossierCloud | null;
  cache: () => DossierCache | null;
  /** The code in the form the box accepts (the national format or the office's own), or null. */
  acceptedCode: (code: string) => string | null;
  clock: () => number;
  log: Logger;
}

export class DossierLookupDesk {
  /** Each station's lookups in the last minute (times), for its rate. */
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly o: LookupDeskOptions) {}

  async answer(who: Identity, topic: string, payload: Buffer): Promise<Reply> {
    const p = parsePayload(DossierLookupRequest, payload);
    if (!p.ok) {
      this.o.log.warn({ client: who.id, code: p.error.code }, 'lookup refused');
      return { id: p.id, topic, status: 'error', error: p.error };
    }
    const id = p.value.id;
    const fail = (error: ErrorBody): Reply => ({ id, topic, status: 'error', error });
    const now = this.o.clock();
    const wait = this.overRate(who.id, now);
    if (wait !== null) {
      this.o.log.warn({ client: who.id }, 'lookup refused: the station is over its rate');
      return fail(
        errorBody('lookup_rate_limited', {
          max: LOOKUPS_PER_STATION_PER_MINUTE,
          seconds: Math.max(1, Math.ceil(wait / 1000)),
        }),
      );
    }
    const typed = p.value.code.trim();
    const code = this.o.acceptedCode(typed);
    if (code === null) return fail(errorBody('invalid_dossier_code', { code: typed }));

    const cache = this.o.cache();
    const kept = cache?.answer(code, now) ?? null;
    if (kept && now - kept.fetchedAt < LOOKUP_FRESH_MS)
      return this.found(id, topic, kept.value, kept.fetchedAt, now, true, true);
    const cloud = this.o.cloud();
    if (cloud) {
      try {
        const answer = await cloud.lookup(code);
        const at = this.o.clock();
        if (answer === null) {
          cache?.forget(code);
          return fail(errorBody('dossier_not_found', { code }));
        }
        cache?.keepAnswer(answer, at);
        return this.found(id, topic, answer, at, at, false, true);
      } catch (err) {
        if (!(err instanceof CloudUnreachable)) throw err;
        this.o.log.warn({ client: who.id, reason: err.message }, 'lookup: the cloud cannot be asked');
      }
    }
    if (kept) return this.found(id, topic, kept.value, kept.fetchedAt, this.o.clock(), true, false);
    return fail(errorBody('lookup_unavailable', { code }));
  }

  private found(
    id: string,
    topic: string,
    dossier: DossierLookupAnswer,
    fetchedAt: number,
    now: number,
    fromCache: boolean,
    cloudReachable: boolean,
  ): Reply {
    const data: DossierLookupResult = {
      dossier,
      fetchedAt: new Date(fetchedAt).toISOString(),
      ageSeconds: Math.max(0, Math.floor((now - fetchedAt) / 1000)),
      fromCache,
      cloudReachable,
    };
    return { id, topic, status: 'ok', data };
  }

  /** Null when the station may ask now (and counts it); else how long until it may (ms). */
  private overRate(station: string, now: number): number | null {
    const times = (this.recent.get(station) ?? []).filter((t) => now - t < MINUTE);
    if (times.length >= LOOKUPS_PER_STATION_PER_MINUTE) {
      this.recent.set(station, times);
      return MINUTE - (now - (times[0] as number));
    }
    times.push(now);
    this.recent.set(station, times);
    // Stations that stopped asking are forgotten: the map stays as small as the office.
    if (this.recent.size > 256)
      for (const [k, v] of this.recent) if (v.every((t) => now - t >= MINUTE)) this.recent.delete(k);
    return null;
  }
}
