// The desired config of an office: the cloud's base (the office's id, name and time zone, where the box reaches
// the cloud), then the unit templates from the root down to the office's unit, then the office's overrides,
// merged with JSON Merge Patch and validated with the box's own schema (protocol/config). Pure.
import { ConfigError, validateConfig } from '../../protocol/config/index.js';
import { configHash, desiredPart, MACHINE_LOCAL_KEYS, type DesiredConfig } from '../../protocol/fleet.js';
import {
  fieldOrigins,
  isObject,
  mergePatch,
  type FieldOrigin,
  type Json,
  type JsonObject,
  type Layer,
} from './merge.js';

export interface FieldError {
  path: string;
  message: string;
}

export interface OfficeIdentity {
  id: string;
  name: string;
  timezone: string;
}

export interface Resolution {
  /** The cloud's base and the unit templates, merged: what the office inherits. */
  inherited: JsonObject;
  /** The validated desired config (defaults filled, machine-local sections left out), when valid. */
  effective: DesiredConfig | null;
  hash: string | null;
  errors: FieldError[];
  /** Where each field comes from: `cloud`, a unit id, or `office`. */
  fields: FieldOrigin[];
}

/** The layer the cloud itself puts under every template: what it knows of the office and of itself. */
export function baseLayer(office: OfficeIdentity, cloudUrl: string): Layer {
  return {
    source: 'cloud',
    patch: {
      office: { id: office.id, name: office.name, timezone: office.timezone },
      cloud: { url: cloudUrl },
    },
  };
}

/**
 * What a template or an office's overrides may not say, whatever the rest: it must be an object; the box's
 * machine-local sections stay on the box; the office's id is the cloud's (the box refuses another).
 */
export function patchErrors(patch: unknown): FieldError[] {
  if (!isObject(patch))
    return [{ path: '(root)', message: 'expected an object (a JSON Merge Patch of the box config)' }];
  const errors: FieldError[] = [];
  for (const key of MACHINE_LOCAL_KEYS)
    if (key in patch)
      errors.push({
        path: key,
        message: `"${key}" belongs to the box's machine (its own config file), never sent from the cloud`,
      });
  if (isObject(patch.office) && 'id' in patch.office)
    errors.push({
      path: 'office.id',
      message: "the office's id is the cloud's office id and cannot be changed",
    });
  return errors;
}

export function resolveOffice(base: Layer, templates: Layer[], overrides: Json): Resolution {
  const inheritedLayers = [base, ...templates];
  const inherited = inheritedLayers.reduce<Json>((doc, l) => mergePatch(doc, l.patch), {}) as JsonObject;
  const fields = fieldOrigins([...inheritedLayers, { source: 'office', patch: overrides }]);
  const merged = mergePatch(inherited, overrides);
  try {
    const effective = desiredPart(validateConfig(merged, 'office config'));
    return { inherited, effective, hash: configHash(effective), errors: [], fields };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      inherited,
      effective: null,
      hash: null,
      errors: err.issues.map(({ path, message }) => ({ path, message })),
      fields,
    };
  }
}
