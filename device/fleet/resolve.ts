// From what the cloud sends to the config the box runs: the desired config plus this machine's own sections,
// validated exactly like the local config file (protocol/config), and the fleet's own refusals. Pure.
import { configHash, MACHINE_LOCAL_KEYS, type BoxReported } from '../../protocol/fleet.js';
import { FLEET_REPORT_MAX_ERRORS } from '../../protocol/fleet.js';
import { ConfigError, validateConfig } from '../config/load.js';
import type { BoxConfig } from '../config/schema.js';

export type FieldError = NonNullable<BoxReported['errors']>[number];

export type Resolved = { ok: true; config: BoxConfig } | { ok: false; errors: FieldError[] };

/** This machine's sections of a config: where it listens and its local admin password. */
export function machineLocalOf(cfg: BoxConfig): Partial<BoxConfig> {
  const out: Record<string, unknown> = {};
  for (const k of MACHINE_LOCAL_KEYS) if (cfg[k] !== undefined) out[k] = cfg[k];
  return out as Partial<BoxConfig>;
}

const clip = (e: FieldError): FieldError => ({
  path: e.path.slice(0, 200),
  message: e.message.slice(0, 500),
});

/**
 * The config to run for a desired config: `desired` with the machine-local sections of `local` (the config
 * file; anything the cloud put there is ignored), validated. Refused besides what validation refuses: no
 * `cloud` section (the box would cut itself off the console that manages it) and another `office.id` (the
 * event log, the uplink and the credential are this office's).
 */
export function resolveDesired(desired: unknown, local: BoxConfig, hash?: string): Resolved {
  if (desired === null || typeof desired !== 'object' || Array.isArray(desired))
    return { ok: false, errors: [{ path: '(root)', message: 'expected the desired config, an object' }] };
  if (hash !== undefined && configHash(desired) !== hash)
    return {
      ok: false,
      errors: [{ path: '(hash)', message: 'the config does not match its hash: not applied' }],
    };
  const merged: Record<string, unknown> = { ...(desired as Record<string, unknown>) };
  for (const k of MACHINE_LOCAL_KEYS) delete merged[k];
  Object.assign(merged, machineLocalOf(local));
  let config: BoxConfig;
  try {
    config = validateConfig(merged, 'desired config');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, errors: e.issues.slice(0, FLEET_REPORT_MAX_ERRORS).map(clip) };
  }
  const errors: FieldError[] = [];
  if (!config.cloud)
    errors.push({
      path: 'cloud',
      message: 'a managed box needs a cloud section: without it the box would no longer reach its console',
    });
  if (config.office.id !== local.office.id)
    errors.push({
      path: 'office.id',
      message: `this box is office "${local.office.id}": its event log and credential are that office's`,
    });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
