// Reading, validating and updating the box config file (YAML or JSON).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parseDocument, type Document } from 'yaml';
import { BOX_ID, COUNTER_BOUND_ROLES, schemaIssues, type SchemaIssue } from '../../protocol/index.js';
import { gpioConfigIssues } from '../drivers/gpio/config.js';
import { BoxConfigSchema, type BoxConfig, type PeripheralConfig } from './schema.js';
import { driverIssues, driverRoleIssues } from '../drivers/config.js';
import { serialConfigIssues } from '../drivers/serial/config.js';

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

/** Write-then-rename: a crash leaves the old config or the new one, never half of one. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

function parseText(text: string, file: string): { doc: Document; data: unknown } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '(syntax)', message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  return { doc, data: doc.toJS() };
}

export function loadConfigFile(file: string): BoxConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '(file)', message: (e as Error).message }]);
  }
  return validateConfig(parseText(text, file).data, file);
}

/**
 * Adds a peripheral to the config file, keeping the file's comments and layout (YAML) and writing
 * atomically, so a crash never leaves half a config.
 */
export function addPeripheralToFile(file: string, peripheral: PeripheralConfig): void {
  const text = readFileSync(file, 'utf8');
  const { doc, data } = parseText(text, file);
  const cfg = validateConfig(data, file);
  if (cfg.peripherals.some((p) => p.id === peripheral.id))
    throw new ConfigError(file, [
      { path: 'peripherals', message: `a peripheral "${peripheral.id}" already exists` },
    ]);
  const issues = peripheralIssues(peripheral, 'peripheral', new Set(cfg.counters.map((c) => c.number)));
  if (issues.length > 0) throw new ConfigError(file, issues);
  let out: string;
  if (file.endsWith('.json')) {
    const obj = data as { peripherals?: unknown[] };
    obj.peripherals = [...(obj.peripherals ?? []), peripheral];
    out = JSON.stringify(obj, null, 2) + '\n';
  } else {
    if (doc.hasIn(['peripherals']) && doc.getIn(['peripherals']) != null)
      doc.addIn(['peripherals'], peripheral);
    else doc.setIn(['peripherals'], [peripheral]);
    out = doc.toString();
  }
  validateConfig(parseText(out, file).data, file);
  writeAtomically(file, out);
}

/** Removes a peripheral (revokes it): the running box drops its connection when it reloads. */
export function removePeripheralFromFile(file: string, id: string): boolean {
  const text = readFileSync(file, 'utf8');
  const { doc, data } = parseText(text, file);
  const cfg = validateConfig(data, file);
  const index = cfg.peripherals.findIndex((p) => p.id === id);
  if (index < 0) return false;
  let out: string;
  if (file.endsWith('.json')) {
    const obj = data as { peripherals: unknown[] };
    obj.peripherals.splice(index, 1);
    out = JSON.stringify(obj, null, 2) + '\n';
  } else {
    doc.deleteIn(['peripherals', index]);
    out = doc.toString();
  }
  writeAtomically(file, out);
  return true;
}

/**
 * Sets one value in the config file (e.g. a peripheral's `secretHash`, `admin.passwordHash`), keeping the
 * file's comments and layout (YAML), checking the result and writing atomically.
 */
export function setInConfigFile(file: string, path: (string | number)[], value: unknown): void {
  const text = readFileSync(file, 'utf8');
  const { doc, data } = parseText(text, file);
  validateConfig(data, file);
  let out: string;
  if (file.endsWith('.json')) {
    let node = data as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) {
      if (node[key] == null || typeof node[key] !== 'object') node[key] = {};
      node = node[key] as Record<string | number, unknown>;
    }
    node[path[path.length - 1] as string | number] = value;
    out = JSON.stringify(data, null, 2) + '\n';
  } else {
    doc.setIn(path, value);
    out = doc.toString();
  }
  validateConfig(parseText(out, file).data, file);
  writeAtomically(file, out);
}
