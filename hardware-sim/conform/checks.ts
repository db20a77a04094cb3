// A conformance report: named checks, each passed, failed (with the reason) or skipped (with why).
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** Why it failed or was skipped; for a pass, what was seen. */
  detail: string;
}

/** Thrown inside a check: the check fails with this reason. */
export class CheckFailed extends Error {}
/** Thrown inside a check: the check is skipped with this reason. */
export class CheckSkipped extends Error {}

export function expectThat(condition: unknown, reason: string): asserts condition {
  if (!condition) throw new CheckFailed(reason);
}

export class Checklist {
  readonly results: CheckResult[] = [];

  constructor(private readonly onResult?: (r: CheckResult) => void) {}

  /** Runs one check; its return value (if a string) is the detail of a pass. */
  async check(name: string, fn: () => Promise<string | void> | string | void): Promise<boolean> {
    let r: CheckResult;
    try {
      const detail = await fn();
      r = { name, status: 'pass', detail: detail ?? '' };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      r = { name, status: e instanceof CheckSkipped ? 'skip' : 'fail', detail: msg };
    }
    this.results.push(r);
    this.onResult?.(r);
    return r.status === 'pass';
  }

  skip(name: string, why: string): void {
    const r: CheckResult = { name, status: 'skip', detail: why };
    this.results.push(r);
    this.onResult?.(r);
  }

  get passed(): boolean {
    return this.results.every((r) => r.status !== 'fail');
  }
}

export function formatResult(r: CheckResult): string {
  const mark = r.status === 'pass' ? 'PASS' : r.status === 'fail' ? 'FAIL' : 'SKIP';
  return `${mark}  ${r.name}${r.detail ? `  — ${r.detail}` : ''}`;
}

export function summary(results: CheckResult[]): string {
  const n = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  return `${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}
