// Reading and updating the box config file (YAML or JSON); validation is protocol/config/validate.ts.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseDocument, type Document } from 'yaml';
import type { BoxConfig, PeripheralConfig } from './schema.js';
import { ConfigError, peripheralIssues, validateConfig } from '../../protocol/config/validate.js';

export { ConfigError, crossCheck, peripheralIssues, validateConfig } from '../../protocol/config/validate.js';

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
