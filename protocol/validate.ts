// Reading a payload against its schema, with errors a sender can act on.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import { errorBody } from './errors.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';
import type { ErrorBody } from './messages.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

/** `/counters/2/services/0` -> `counters[2].services[0]`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(root)';
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export interface SchemaIssue {
  path: string;
  message: string;
}

/** All schema issues, one per path (the first message for each), in document order. */
export function schemaIssues(schema: TSchema, value: unknown): SchemaIssue[] {
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const e of checker(schema).Errors(value)) {
    const path = pointerToPath(e.path);
    if (seen.has(path)) continue;
    seen.add(path);
    issues.push({ path, message: e.message });
  }
  return issues;
}

export function isValid<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return checker(schema).Check(value);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorBody; id: string | null };

/**
 * Strict UTF-8: a lenient decoder turns invalid bytes into U+FFFD, and a request would be carried out with
 * text its sender never wrote (a name, a dossier code).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Size limit, UTF-8, JSON, then schema: the order in which a payload can be refused. */
export function parsePayload<T extends TSchema>(schema: T, payload: Buffer | string): Parsed<Static<T>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_PAYLOAD_BYTES) {
    return {
      ok: false,
      id: null,
      error: errorBody('payload_too_large', { max: MAX_PAYLOAD_BYTES }, `${size} bytes`),
    };
  }
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return { ok: false, id: null, error: errorBody('bad_utf8', {}, 'the payload is not valid UTF-8') };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, id: null, error: errorBody('bad_json', {}, (e as Error).message) };
  }
  const id = requestIdOf(value);
  if (!isValid(schema, value)) {
    const detail = schemaIssues(schema, value)
      .slice(0, 3)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    return { ok: false, id, error: errorBody('schema_invalid', { detail }, detail) };
  }
  return { ok: true, value };
}

/**
 * The request id of a payload we will not otherwise read (refused before parsing), so the refusal can
 * still be correlated.
 */
export function peekRequestId(payload: Buffer | string): string | null {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_PAYLOAD_BYTES) return null;
  try {
    return requestIdOf(JSON.parse(payload.toString()));
  } catch {
    return null;
  }
}

/** The request id of a payload that may be otherwise wrong, so its error reply can still be correlated. */
function requestIdOf(value: unknown): string | null {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = (value as { id: unknown }).id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 64) return id;
  }
  return null;
}
