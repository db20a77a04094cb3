// Limits are a property of the whole product: every limit of the box's peers (protocol/limits.ts) and of the
// cloud's inputs (cloud/limits.ts) is a named value in one place, and each one is documented for the people
// who meet it. A limit added without its row in SECURITY.md, or a row left behind for a limit removed, fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as boxLimits from '../../protocol/limits.js';
import * as cloudLimits from '../../cloud/limits.js';
import * as protocol from '../../protocol/index.js';
import * as fleet from '../../protocol/fleet.js';
import * as fleetCommands from '../../protocol/fleet-commands.js';

const security = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
const protocolReadme = readFileSync(new URL('../../protocol/README.md', import.meta.url), 'utf8');
const cloudReadme = readFileSync(new URL('../../cloud/README.md', import.meta.url), 'utf8');

/** The names SECURITY.md's Limits section cites, as `NAME`. */
const limitsSection = security.split(/^## /m).find((s) => s.startsWith('Limits')) ?? '';
const cited = new Set([...limitsSection.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));

describe('every limit is written in one place and documented', () => {
  for (const [file, limits] of [
    ['protocol/limits.ts', boxLimits],
    ['cloud/limits.ts', cloudLimits],
  ] as const) {
    it(`${file}: each limit is a positive number with a row in SECURITY.md`, () => {
      const names = Object.keys(limits);
      expect(names.length).toBeGreaterThan(5);
      for (const name of names) {
        const value = (limits as Record<string, unknown>)[name];
        expect(typeof value === 'number' && value > 0, `${name} = ${String(value)}`).toBe(true);
        expect(cited.has(name), `${name} has no row in SECURITY.md`).toBe(true);
      }
    });
  }

  it('SECURITY.md cites no limit that does not exist', () => {
    // A few limits of the wire formats live beside their format (LED_MAX_PAYLOAD, UPLINK_MAX_BATCH,
    // FLEET_REPORT_MAX_ERRORS, the fleet commands' in protocol/fleet-commands.ts).
    const all = new Set([
      ...Object.keys(protocol),
      ...Object.keys(fleet),
      ...Object.keys(fleetCommands),
      ...Object.keys(cloudLimits),
    ]);
    expect(limitsSection.length, 'SECURITY.md has a "## Limits" section').toBeGreaterThan(0);
    for (const name of cited)
      expect(all.has(name), `SECURITY.md names ${name}, which no limits file has`).toBe(true);
  });

  it('the vendor and operator pages carry the values a peer meets', () => {
    // A hardware vendor reads protocol/README.md, an operator cloud/README.md: the headline limits are there too.
    expect(protocolReadme).toContain(String(boxLimits.MAX_PAYLOAD_BYTES));
    expect(protocolReadme).toMatch(/MAX_PACKET_BYTES|16 KiB/);
    expect(cloudReadme).toMatch(/366/);
  });
});
