// JSON Merge Patch (RFC 7396), and where each field of a merged document came from. Written here rather than
// taken from npm: the algorithm is the RFC's ten-line pseudocode, node_modules holds no implementation of it
// (lodash.merge merges arrays by index and cannot delete), and a new dependency needs the lead's say. Pure.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const isObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * RFC 7396 §2: an object patch merges key by key, `null` deletes the key, anything else (arrays included)
 * replaces the target whole. Neither argument is changed.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * The fields a patch sets, as dotted paths: objects are walked, anything else (a value, an array, a `null`
 * that deletes) is one field. `{office: {name: 'x'}, services: [...]}` → `office.name`, `services`.
 */
export function patchFields(patch: Json, prefix = ''): string[] {
  if (!isObject(patch)) return prefix ? [prefix] : [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value) && Object.keys(value).length > 0) out.push(...patchFields(value, path));
    else out.push(path);
  }
  return out;
}

/** One layer of inheritance: who wrote it (`cloud`, a unit id, `office`) and its patch. */
export interface Layer {
  source: string;
  patch: Json;
}

export interface FieldOrigin {
  path: string;
  /** The layer whose value is in effect: `cloud` (the cloud's own base), a unit id, or `office`. */
  from: string;
  /** Set when a later layer replaced what an earlier one had set: the source it overrode. */
  overrides?: string;
  /** The layer deleted the field (`null` in its patch). */
  removed?: true;
}

const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/**
 * Which layer each field of the merged document comes from: a later layer's field replaces an earlier
 * layer's at the same path, above it (a whole object or array) or below it.
 */
export function fieldOrigins(layers: Layer[]): FieldOrigin[] {
  let origins: FieldOrigin[] = [];
  for (const layer of layers) {
    if (!isObject(layer.patch)) continue;
    for (const path of patchFields(layer.patch)) {
      const replaced = origins.filter((o) => related(o.path, path));
      origins = origins.filter((o) => !related(o.path, path));
      const value = path
        .split('.')
        .reduce<Json | undefined>((v, k) => (isObject(v) ? v[k] : undefined), layer.patch);
      const earlier = replaced[replaced.length - 1];
      origins.push({
        path,
        from: layer.source,
        ...(earlier ? { overrides: earlier.from } : {}),
        ...(value === null ? { removed: true as const } : {}),
      });
    }
  }
  return origins.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
