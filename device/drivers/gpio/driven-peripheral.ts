// What every GPIO and voice driver needs about the peripheral it acts as: its typed driver config and
// request ids that stay unique across restarts.
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { schemaIssues } from '../../../protocol/index.js';
import type { PeripheralConfig } from '../../config/schema.js';

/** The peripheral's `driver` with defaults filled; a config that slipped past validation is a clear error. */
export function driverConfig<T extends TSchema>(schema: T, p: PeripheralConfig): Static<T> {
  const cfg = Value.Default(schema, structuredClone(p.driver ?? {}));
  const issues = schemaIssues(schema, cfg);
  if (issues.length > 0)
    throw new Error(
      `${p.id}: invalid driver config: ` + issues.map((i) => `driver.${i.path}: ${i.message}`).join('; '),
    );
  return cfg as Static<T>;
}

/**
 * `<device id>-<start>-<seq>`: the box remembers replies by (device, id) for 7 days, so a driver restarted
 * within them must not reuse an id (it would get an old reply back, or request_id_reused, instead of a call).
 */
export class RequestIds {
  private seq = 0;
  private readonly start: string;

  constructor(
    private readonly deviceId: string,
    now: number,
  ) {
    this.start = now.toString(36);
  }

  next(): string {
    return `${this.deviceId}-${this.start}-${(++this.seq).toString(36)}`;
  }
}
