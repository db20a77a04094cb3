// The inheritance's merge is JSON Merge Patch as RFC 7396 defines it (its Appendix A examples), and the
// console's "where does this field come from" follows the layers. Pure; no database.
import { describe, expect, it } from 'vitest';
import { fieldOrigins, mergePatch, type Json } from '../../cloud/fleet/merge.js';

// RFC 7396, Appendix A: original, patch, result.
const RFC_EXAMPLES: [Json, Json, Json][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('JSON Merge Patch (RFC 7396)', () => {
  it.each(RFC_EXAMPLES)('%j + %j = %j', (original, patch, result) => {
    const before = structuredClone(original);
    expect(mergePatch(original, patch)).toEqual(result);
    expect(original).toEqual(before); // the inherited document is never changed in place
  });

  it('arrays (services, counters, peripherals) replace whole: an office lists its own counters', () => {
    const template = { counters: [{ number: 1 }, { number: 2 }, { number: 3 }] };
    expect(mergePatch(template, { counters: [{ number: 7 }] })).toEqual({ counters: [{ number: 7 }] });
  });
});

describe('where each field comes from', () => {
  it('the last layer to set a path, or a path above or below it, owns it, and says what it overrode', () => {
    const origins = fieldOrigins([
      { source: 'cloud', patch: { office: { id: 'o', name: 'Cloud name' }, cloud: { url: 'https://c' } } },
      { source: 'dn', patch: { office: { sessions: [] }, services: [], screens: { chime: false } } },
      { source: 'lc', patch: { screens: { chime: true, notice: 'x' } } },
      { source: 'office', patch: { office: { name: 'Mine' }, screens: null } },
    ]);
    expect(origins).toEqual([
      { path: 'cloud.url', from: 'cloud' },
      { path: 'office.id', from: 'cloud' },
      { path: 'office.name', from: 'office', overrides: 'cloud' },
      { path: 'office.sessions', from: 'dn' },
      { path: 'screens', from: 'office', overrides: 'lc', removed: true },
      { path: 'services', from: 'dn' },
    ]);
  });
});
