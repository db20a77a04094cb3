// The dossier-status board's figures: asked of the cloud every DOSSIER_BOARD_POLL_MS, kept in the cache
// (so a box restarted during an outage still has them) and published retained on `lobby/v1/state/dossiers`
// with their age and whether the last poll reached the cloud.
import type { Logger } from 'pino';
import { DOSSIER_BOARD_POLL_MS, type DossierBoardState } from '../../protocol/index.js';
import type { DossierCache } from './cache.js';
import { CloudUnreachable, type DossierCloud } from './cloud-client.js';

export interface BoardFeedOptions {
  cloud: () => DossierCloud | null;
  cache: () => DossierCache | null;
  publish: (state: DossierBoardState) => Promise<void>;
  clock: () => number;
  log: Logger;
  intervalMs?: number;
}

export class DossierBoardFeed {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastCloud: DossierBoardState['cloud'] | null = null;

  constructor(private readonly o: BoardFeedOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Asks the cloud once and publishes what the box has. */
  async poll(): Promise<void> {
    const cloud = this.o.cloud();
    const cache = this.o.cache();
    let state: DossierBoardState['cloud'] = 'not_enrolled';
    if (cloud) {
      try {
        const board = await cloud.board();
        cache?.keepBoard(board, this.o.clock());
        state = 'ok';
      } catch (err) {
        if (!(err instanceof CloudUnreachable)) throw err;
        state = 'unreachable';
        if (this.lastCloud !== 'unreachable')
          this.o.log.warn(
            { reason: err.message },
            'dossier board: the cloud cannot be asked; showing the last figures',
          );
      }
    }
    if (state === 'ok' && this.lastCloud === 'unreachable')
      this.o.log.info('dossier board: the cloud answers again');
    this.lastCloud = state;
    const now = this.o.clock();
    const kept = cache?.board() ?? null;
    await this.o.publish({
      board: kept?.value ?? null,
      fetchedAt: kept ? new Date(kept.fetchedAt).toISOString() : null,
      ageSeconds: kept ? Math.max(0, Math.floor((now - kept.fetchedAt) / 1000)) : null,
      cloud: state,
      checkedAt: new Date(now).toISOString(),
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err: unknown) => this.o.log.error({ err }, 'dossier board poll failed'))
        .finally(() => {
          this.running = null;
          this.schedule(this.o.intervalMs ?? DOSSIER_BOARD_POLL_MS);
        });
    }, ms);
    this.timer.unref();
  }
}
