// Screens paired on a box the cloud manages (issue 11, the `pair-screen` command): the office's config is the
// cloud's, so the box cannot write a screen's new secret into it. It keeps the secret's hash here
// (screen-pairings.json, durably), tied to the secret hash the cloud's config had for that screen when it was
// paired: while the cloud's entry is unchanged, the screen logs in with its paired secret; once the cloud
// rotates or revokes it, the local pairing no longer applies (a revoked screen is disconnected as before).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { generateSecret, hashSecret } from '../../protocol/secrets.js';
import type { PeripheralConfig } from '../config/schema.js';
import { writeDurably } from './files.js';

export const SCREEN_PAIRINGS_FILE = 'screen-pairings.json';

const Pairings = Type.Record(
  Type.String(),
  Type.Object({
    secretHash: Type.String(),
    /** The cloud config's secretHash for the screen when it was paired (null: it had none). */
    basedOn: Type.Union([Type.String(), Type.Null()]),
    pairedAt: Type.String(),
  }),
);
type Pairings = Static<typeof Pairings>;

export class ScreenPairings {
  private readonly file: string;
  private pairings: Pairings;

  constructor(dataDir: string, log: Logger) {
    this.file = join(dataDir, SCREEN_PAIRINGS_FILE);
    this.pairings = {};
    if (!existsSync(this.file)) return;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (Value.Check(Pairings, data)) this.pairings = data;
      else throw new Error('not a pairings file');
    } catch (err) {
      log.error(
        { err: (err as Error).message, file: this.file },
        'screen pairings unreadable: screens pair again',
      );
    }
  }

  /** The peripherals as the box checks them: a paired screen's secret in place of the cloud's. */
  apply(peripherals: PeripheralConfig[]): PeripheralConfig[] {
    return peripherals.map((p) => {
      const paired = this.pairings[p.id];
      return paired && paired.basedOn === (p.secretHash ?? null)
        ? { ...p, secretHash: paired.secretHash }
        : p;
    });
  }

  /** A new secret for the screen (returned once; only its hash is kept). */
  async pair(p: PeripheralConfig, at: string): Promise<string> {
    const secret = generateSecret();
    const secretHash = await hashSecret(secret);
    const next = { ...this.pairings, [p.id]: { secretHash, basedOn: p.secretHash ?? null, pairedAt: at } };
    writeDurably(this.file, JSON.stringify(next) + '\n');
    this.pairings = next;
    return secret;
  }
}
