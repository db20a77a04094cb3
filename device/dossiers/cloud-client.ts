// The box asking its cloud about dossiers, with its own credential (GET /api/v1/box/dossiers/:code and
// /api/v1/box/dossier-board). One try each: a station's citizen is waiting, so an answer that does not come
// within LOOKUP_CLOUD_TIMEOUT_MS is taken from the cache instead; the board is asked again at the next poll.
import got from 'got';
import {
  DOSSIER_CLOUD_ANSWER_MAX_BYTES,
  DossierBoard,
  DossierLookupAnswer,
  LOOKUP_CLOUD_TIMEOUT_MS,
  isValid,
  type TSchema,
} from '../../protocol/index.js';

/** The cloud could not be asked, or answered nothing usable: the caller falls back to what it kept. */
export class CloudUnreachable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CloudUnreachable';
  }
}

export class DossierCloud {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = LOOKUP_CLOUD_TIMEOUT_MS,
  ) {}

  /** The dossier, or null when the cloud has none with this code. Throws CloudUnreachable. */
  async lookup(code: string): Promise<DossierLookupAnswer | null> {
    const { status, body } = await this.get(`/api/v1/box/dossiers/${encodeURIComponent(code)}`);
    if (status === 404) return null;
    return this.valid(status, body, DossierLookupAnswer);
  }

  /** The office's figures for its dossier-status board. Throws CloudUnreachable. */
  async board(): Promise<DossierBoard> {
    const { status, body } = await this.get('/api/v1/box/dossier-board');
    return this.valid(status, body, DossierBoard);
  }

  private valid<T extends TSchema>(status: number, body: unknown, schema: T): T['static'] {
    if (status !== 200) {
      const code = (body as { code?: string } | null)?.code ?? '';
      throw new CloudUnreachable(`the cloud answered ${status} ${code}`.trim());
    }
    if (!isValid(schema, body))
      throw new CloudUnreachable('the cloud answered something that is not a dossier');
    return body;
  }

  private async get(path: string): Promise<{ status: number; body: unknown }> {
    const request = got(`${this.url}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      timeout: { request: this.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'buffer',
    });
    // An answer larger than any real one is cut off as it arrives, not read into memory whole.
    request.on('downloadProgress', (p: { transferred: number }) => {
      if (p.transferred > DOSSIER_CLOUD_ANSWER_MAX_BYTES) request.cancel('answer too large');
    });
    try {
      const res = await request;
      let body: unknown = null;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        body = null;
      }
      return { status: res.statusCode, body };
    } catch (err) {
      throw new CloudUnreachable((err as Error).message);
    }
  }
}
