// The checks hardware-sim/conform/README.md documents, by name: the kit's tests hold what it reports to them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROLES, type Role } from '../../protocol/index.js';

interface DocumentedCheck {
  template: string;
  pattern: RegExp;
  /** The roles it is for; null: every role. */
  roles: Role[] | null;
  /** Only in some runs (a failure or a skip the README describes), so not required in a passing run. */
  conditional: boolean;
}

const README = readFileSync(join(import.meta.dirname, '../../hardware-sim/conform/README.md'), 'utf8');

function documented(mode: 'device' | 'box'): DocumentedCheck[] {
  const start = README.indexOf(mode === 'device' ? 'Checking a device:' : 'Checking a box');
  const end = mode === 'device' ? README.indexOf('Checking a box', start) : README.indexOf('\n## ', start);
  expect(start, `README section for ${mode} checks`).toBeGreaterThan(0);
  const checks: DocumentedCheck[] = [];
  for (const line of README.slice(start, end).split('\n')) {
    const m = /^- `(.+)`(?: \((.+)\))?$/.exec(line);
    if (!m) continue;
    const template = m[1] as string;
    const remark = m[2]?.split(', ') ?? null;
    const roles = remark?.every((r) => (ROLES as readonly string[]).includes(r)) ? (remark as Role[]) : null;
    const source = template
      .split(/<[^>]+>/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.+?');
    checks.push({ template, pattern: new RegExp(`^${source}$`), roles, conditional: !!remark && !roles });
  }
  return checks;
}

/**
 * Every check the kit reported is one the README documents for the role, and every check the README
 * documents for the role (but those it says appear only sometimes) was reported.
 */
export function expectDocumented(names: string[], mode: 'device' | 'box', role: Role): void {
  const forRole = documented(mode).filter((c) => c.roles === null || c.roles.includes(role));
  const undocumented = names.filter((n) => !forRole.some((c) => c.pattern.test(n)));
  expect(undocumented, `checks not in hardware-sim/conform/README.md for a ${role}`).toEqual([]);
  const missing = forRole
    .filter((c) => !c.conditional && !names.some((n) => c.pattern.test(n)))
    .map((c) => c.template);
  expect(missing, `documented checks the kit did not run for a ${role}`).toEqual([]);
}
