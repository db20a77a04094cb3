// A simulated office day against a real box on a virtual clock: the simulator's counts and the box's
// event log agree, and a seed gives the same day twice.
import { describe, expect, it } from 'vitest';
import { applyRates, dayProfile, formatReport, type DayResult } from '../../hardware-sim/office-day/index.js';
import { defaultSimOffice, runLocalDay } from '../../cli/sim-box.js';

/** What must be identical between two runs with the same seed. */
const fingerprint = (r: DayResult) =>
  r.observation.tickets.map((t) => [
    t.number,
    t.service,
    t.state,
    t.issuedAt,
    t.firstCalledAt,
    t.finishedAt,
    t.counter,
    t.rating,
  ]);

describe('office day generator', () => {
  it('ends a small day with the same counts in the simulator and in the box', async () => {
    const profile = dayProfile({ seed: 7, rate: 0.15 });
    const r = await runLocalDay({ office: defaultSimOffice(), profile });
    const k = r.kpis;
    expect(k.issued).toBeGreaterThan(20);
    // Every citizen ends served, absent, or (none here) still waiting.
    expect(k.served + k.noShows + k.unserved).toBe(k.issued);
    expect(k.unserved).toBe(0);
    // The box's log and the simulator agree on every kind of event either counted.
    const byType = Object.fromEntries(r.rows.map((x) => [x.what, x]));
    for (const type of ['ticket.issued', 'ticket.finished', 'rating.submitted', 'ticket.called'])
      expect(byType[type]?.agree, type).toBe(true);
    expect(byType['ticket.issued']?.box).toBe(k.issued);
    expect(byType['ticket.finished']?.box).toBe(k.served);
    expect(byType['rating.submitted']?.box).toBe(k.ratings.count);
    expect(r.rows.filter((x) => x.agree === false)).toEqual([]);
    // Simulated time: the box's own waits are the simulator's.
    expect(r.box?.waitsMs?.length).toBe(k.waitMin.n);
    expect(k.errors).toEqual({});
    const report = formatReport(k, { seed: 7, date: profile.date, box: r.box, rows: r.rows });
    expect(report).toContain('they agree');
    expect(report).toMatch(/satisfaction index \(chỉ số hài lòng\) +\d+\.\d%/);
  });

  it('gives the same day for the same seed, and another day for another seed', async () => {
    const office = defaultSimOffice();
    const a = await runLocalDay({ office, profile: dayProfile({ seed: 42, rate: 0.08 }) });
    const b = await runLocalDay({ office, profile: dayProfile({ seed: 42, rate: 0.08 }) });
    const c = await runLocalDay({ office, profile: dayProfile({ seed: 43, rate: 0.08 }) });
    expect(fingerprint(b)).toEqual(fingerprint(a));
    expect(b.kpis).toEqual(a.kpis);
    expect(fingerprint(c)).not.toEqual(fingerprint(a));
  });

  it('refuses a bad rate or profile with a message that names it', () => {
    const p = dayProfile();
    expect(() => applyRates(p, ['fast'], ['ho-tich'])).toThrow(/--rate "fast"/);
    expect(() => applyRates(p, ['xyz=2'], ['ho-tich'])).toThrow(/no service "xyz"/);
    expect(applyRates(p, ['ho-tich=2,0.5'], ['ho-tich']).arrivalsPerDay['ho-tich']).toBe(110);
    expect(() => dayProfile({ absentShare: 2 })).toThrow(/absentShare/);
    expect(() => dayProfile({ date: 'monday' })).toThrow(/date/);
  });
});
