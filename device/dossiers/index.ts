// Wiring of the lookup station and the dossier-status board into the box: the cloud client made from the
// config's `cloud` section and the box credential (as the uplink does), the cache opened only on a box with
// a cloud, the lookup desk and the board feed.
import type { Logger } from 'pino';
import { boxToken, type DossierBoardState, type Reply } from '../../protocol/index.js';
import type { Identity } from '../broker/acl.js';
import type { BoxConfig } from '../config/schema.js';
import { dossierCodeAccepted } from '../engine/index.js';
import { credentialPath, readCredential } from '../uplink/credential.js';
import { DossierBoardFeed } from './board-feed.js';
import { DossierCache } from './cache.js';
import { DossierCloud } from './cloud-client.js';
import { DossierLookupDesk } from './lookup-desk.js';

export { DossierCache, DOSSIER_CACHE_FILE } from './cache.js';
export { DossierCloud, CloudUnreachable } from './cloud-client.js';

export interface DossiersOptions {
  config: () => BoxConfig;
  dataDir: string;
  publishBoard: (state: DossierBoardState) => Promise<void>;
  clock: () => number;
  log: Logger;
  /** How often the board is asked of the cloud (tests shorten it); default DOSSIER_BOARD_POLL_MS. */
  boardPollMs?: number;
}

export interface Dossiers {
  lookup(who: Identity, topic: string, payload: Buffer): Promise<Reply>;
  /** Asks the cloud for the board now (tests; the feed polls by itself). */
  refreshBoard(): Promise<void>;
  stop(): Promise<void>;
}

/** The code as the box accepts it (the national format, or the office's own pattern), or null. */
export function acceptedDossierCode(cfg: BoxConfig, typed: string): string | null {
  const pattern = cfg.dossierCodePattern ? new RegExp(`^(?:${cfg.dossierCodePattern})$`) : undefined;
  // A code typed on the screen may come in lower case; receipts print it in upper case.
  for (const code of [typed, typed.toUpperCase()]) if (dossierCodeAccepted(code, pattern)) return code;
  return null;
}

export function startDossiers(o: DossiersOptions): Dossiers {
  let cache: DossierCache | null = null;
  let stopped = false;
  let client: { key: string; cloud: DossierCloud | null } | null = null;
  const cacheOf = () => {
    // Closed with the box: a lookup still in flight then gets no cache rather than reopening it.
    if (stopped || !o.config().cloud) return null;
    cache ??= new DossierCache(o.dataDir);
    return cache;
  };
  const cloudOf = () => {
    const cloud = o.config().cloud;
    if (!cloud) return null;
    const file = credentialPath(o.config(), o.dataDir);
    const key = `${cloud.url}\n${file}`;
    if (client?.key === key && client.cloud) return client.cloud;
    let made: DossierCloud | null = null;
    try {
      const c = readCredential(file);
      if (c) made = new DossierCloud(cloud.url.replace(/\/+$/, ''), boxToken(c.boxId, c.secret));
    } catch (err) {
      o.log.error(
        { err: (err as Error).message, file },
        'dossier lookups: the credential file is unreadable',
      );
    }
    // Not enrolled yet: asked again at the next lookup, so enrolling needs no restart.
    client = { key, cloud: made };
    return made;
  };
  const desk = new DossierLookupDesk({
    cloud: cloudOf,
    cache: cacheOf,
    acceptedCode: (code) => acceptedDossierCode(o.config(), code),
    clock: o.clock,
    log: o.log,
  });
  const feed = new DossierBoardFeed({
    cloud: cloudOf,
    cache: cacheOf,
    publish: o.publishBoard,
    clock: o.clock,
    log: o.log,
    ...(o.boardPollMs !== undefined ? { intervalMs: o.boardPollMs } : {}),
  });
  // The board is the cloud's: a box without one publishes none.
  if (o.config().cloud) feed.start();
  return {
    lookup: (who, topic, payload) => desk.answer(who, topic, payload),
    refreshBoard: () => feed.poll(),
    async stop() {
      stopped = true;
      await feed.stop();
      cache?.close();
      cache = null;
    },
  };
}
