// Validating a box config: the schema, then what a schema cannot say (references, uniqueness, time order).
// Shared by the box (its config file, the configuration the cloud sends) and the cloud (refusing an invalid
// configuration before it is saved), so both name the same field with the same message.
import { Value } from '@sinclair/typebox/value';
import { BOX_ID, COUNTER_BOUND_ROLES, schemaIssues, type SchemaIssue } from '../index.js';
import { gpioConfigIssues } from './gpio.js';
import { BoxConfigSchema, type BoxConfig, type PeripheralConfig } from './schema.js';
import { driverIssues, driverRoleIssues } from './drivers.js';
import { serialConfigIssues } from './serial.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: SchemaIssue[],
  ) {
    super(`${file}: invalid config\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Validates a parsed config object; returns it with defaults filled, or throws ConfigError. */
export function validateConfig(raw: unknown, file = '(config)'): BoxConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [
      { path: '(root)', message: 'expected a mapping with office, services, counters' },
    ]);
  }
  const withDefaults = Value.Default(BoxConfigSchema, structuredClone(raw));
  const issues = schemaIssues(BoxConfigSchema, withDefaults).flatMap((issue) => {
    const m = /^peripherals\[(\d+)\]\.driver$/.exec(issue.path);
    const driver = m
      ? (withDefaults as { peripherals?: { driver?: unknown }[] }).peripherals?.[Number(m[1])]?.driver
      : undefined;
    return (m && driverIssues(driver, issue.path)) || [issue];
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  const cfg = withDefaults as BoxConfig;
  const refs = crossCheck(cfg);
  if (refs.length > 0) throw new ConfigError(file, refs);
  return cfg;
}

/** What a schema cannot say: references between sections, uniqueness, time order. */
export function crossCheck(cfg: BoxConfig): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const dup = <T>(list: T[], key: (t: T) => string | number, path: string, what: string) => {
    const seen = new Set<string | number>();
    list.forEach((item, i) => {
      const k = key(item);
      if (seen.has(k)) issues.push({ path: `${path}[${i}]`, message: `duplicate ${what} "${k}"` });
      seen.add(k);
    });
  };
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: cfg.office.timezone });
  } catch {
    issues.push({ path: 'office.timezone', message: `unknown timezone "${cfg.office.timezone}"` });
  }
  cfg.office.sessions.forEach((s, i) => {
    const cutoff = s.cutoff ?? s.close;
    if (!(s.open < s.close))
      issues.push({
        path: `office.sessions[${i}]`,
        message: `open ${s.open} must be before close ${s.close}`,
      });
    else if (!(s.open < cutoff && cutoff <= s.close))
      issues.push({
        path: `office.sessions[${i}].cutoff`,
        message: `cutoff ${cutoff} must be after open and not after close`,
      });
    const prev = cfg.office.sessions[i - 1];
    if (prev && !(prev.close <= s.open))
      issues.push({
        path: `office.sessions[${i}]`,
        message: `session overlaps the one before (${prev.close} > ${s.open})`,
      });
  });
  dup(cfg.services, (s) => s.id, 'services', 'service id');
  cfg.services.forEach((s, i) => {
    if ('from' in s.numbering && s.numbering.from > s.numbering.to)
      issues.push({
        path: `services[${i}].numbering`,
        message: `from ${s.numbering.from} is after to ${s.numbering.to}`,
      });
  });
  const prefixes = new Map<string, string>();
  cfg.services.forEach((s, i) => {
    if ('prefix' in s.numbering && s.numbering.prefix !== '') {
      const other = prefixes.get(s.numbering.prefix);
      if (other)
        issues.push({
          path: `services[${i}].numbering.prefix`,
          message: `prefix "${s.numbering.prefix}" is already used by "${other}"`,
        });
      prefixes.set(s.numbering.prefix, s.id);
    }
  });
  // Letterless numbers must not collide: one zero-padded service, or ranges that do not overlap.
  const letterless = cfg.services
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !('prefix' in s.numbering) || s.numbering.prefix === '');
  if (letterless.length > 1) {
    const padded = letterless.find(({ s }) => 'prefix' in s.numbering);
    if (padded)
      issues.push({
        path: `services[${padded.i}].numbering`,
        message: 'a service without a letter prefix must be the only one without letters',
      });
    const ranges = letterless.flatMap(({ s, i }) => ('from' in s.numbering ? [{ ...s.numbering, i }] : []));
    ranges.sort((a, b) => a.from - b.from);
    ranges.forEach((r, k) => {
      const prev = ranges[k - 1];
      if (prev && r.from <= prev.to)
        issues.push({
          path: `services[${r.i}].numbering`,
          message: `range ${r.from}-${r.to} overlaps services[${prev.i}]`,
        });
    });
  }
  const serviceIds = new Set(cfg.services.map((s) => s.id));
  dup(cfg.counters, (c) => c.number, 'counters', 'counter number');
  cfg.counters.forEach((c, i) =>
    c.services.forEach((sid, j) => {
      if (!serviceIds.has(sid))
        issues.push({ path: `counters[${i}].services[${j}]`, message: `unknown service "${sid}"` });
    }),
  );
  dup(cfg.clerks, (c) => c.id, 'clerks', 'clerk id');
  dup(cfg.rating.scale, (s) => s.score, 'rating.scale', 'score');
  cfg.rating.scale.forEach((s, i) => {
    if (s.score !== i + 1)
      issues.push({
        path: `rating.scale[${i}].score`,
        message: `scores must run 1..${cfg.rating.scale.length} in order`,
      });
  });
  const counterNumbers = new Set(cfg.counters.map((c) => c.number));
  dup(cfg.peripherals, (p) => p.id, 'peripherals', 'peripheral id');
  cfg.peripherals.forEach((p, i) => issues.push(...peripheralIssues(p, `peripherals[${i}]`, counterNumbers)));
  issues.push(...driverRoleIssues(cfg.peripherals));
  issues.push(...gpioConfigIssues(cfg));
  if (cfg.dossierCodePattern !== undefined) {
    try {
      new RegExp(cfg.dossierCodePattern);
    } catch (e) {
      issues.push({
        path: 'dossierCodePattern',
        message: `not a regular expression: ${(e as Error).message}`,
      });
    }
  }
  issues.push(...serialConfigIssues(cfg));
  return issues;
}

export function peripheralIssues(p: PeripheralConfig, path: string, counters: Set<number>): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  if (p.id === BOX_ID)
    issues.push({ path: `${path}.id`, message: `"${BOX_ID}" is reserved for the box itself` });
  if (COUNTER_BOUND_ROLES.includes(p.role) && p.counter === undefined)
    issues.push({ path: `${path}.counter`, message: `a ${p.role} must be bound to a counter` });
  if (p.counter !== undefined && !counters.has(p.counter))
    issues.push({ path: `${path}.counter`, message: `unknown counter ${p.counter}` });
  if (p.counter !== undefined && !['keypad', 'rating', 'scanner', 'clerk-panel', 'ledboard'].includes(p.role))
    issues.push({ path: `${path}.counter`, message: `a ${p.role} is not bound to a counter` });
  if (p.secretHash === undefined && p.driver === undefined)
    issues.push({
      path: `${path}.secretHash`,
      message: 'a device that logs in over MQTT needs a secret (lobby device add-peripheral), or a driver',
    });
  return issues;
}
