// How the simulated office day behaves: arrivals, service times, absences, transfers, dossiers, ratings.
// Defaults fit a commune office (xã) with about 300 citizens a day over a morning and an afternoon session;
// every field can be set in a profile file (YAML or JSON) and the arrival rates scaled from the command line.
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { schemaIssues } from '../../protocol/index.js';

const Share = Type.Number({ minimum: 0, maximum: 1 });
const Duration = Type.Object(
  {
    median: Type.Number({ exclusiveMinimum: 0, description: 'minutes' }),
    sigma: Type.Number({ minimum: 0, maximum: 2, default: 0.5, description: 'lognormal shape' }),
  },
  { additionalProperties: false },
);
const Time = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });

export const DayProfileSchema = Type.Object(
  {
    seed: Type.Integer({ default: 1 }),
    date: Type.String({
      pattern: '^\\d{4}-\\d{2}-\\d{2}$',
      default: '2026-11-23',
      description: 'The office day to simulate (a workday), office local date',
    }),
    arrivalsPerDay: Type.Record(Type.String(), Type.Number({ minimum: 0 }), {
      default: {
        'van-thu': 40,
        'chung-thuc': 95,
        'ho-tich': 55,
        'dat-dai': 25,
        'lao-dong': 30,
        thue: 20,
        khac: 15,
        'tu-van': 20,
      },
      description: 'Expected citizens a day per service; a service not listed gets defaultArrivalsPerDay',
    }),
    defaultArrivalsPerDay: Type.Number({ minimum: 0, default: 30 }),
    rate: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'Multiplies every arrival rate' }),
    windows: Type.Optional(
      Type.Array(
        Type.Object(
          { open: Time, cutoff: Time, weight: Type.Number({ minimum: 0 }) },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          description:
            "When citizens arrive and each window's share of the day; default: the office's sessions " +
            '(open until cutoff), 60% morning and 40% afternoon',
        },
      ),
    ),
    serviceMinutes: Type.Record(Type.String(), Duration, {
      default: {
        'van-thu': { median: 3, sigma: 0.5 },
        'chung-thuc': { median: 2.5, sigma: 0.5 },
        'ho-tich': { median: 5, sigma: 0.5 },
        'dat-dai': { median: 8, sigma: 0.6 },
        'lao-dong': { median: 6, sigma: 0.5 },
        thue: { median: 6, sigma: 0.5 },
        khac: { median: 6, sigma: 0.5 },
        'tu-van': { median: 5, sigma: 0.6 },
      },
    }),
    defaultServiceMinutes: Duration,
    walkSeconds: Duration,
    recallAfterSeconds: Type.Number({ exclusiveMinimum: 0, default: 40 }),
    priorityShare: Type.Number({ minimum: 0, maximum: 1, default: 0.08 }),
    absentShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.06,
      description: 'Citizens not in the lobby when called',
    }),
    lateShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.35,
      description: 'Of the absent: come on a recall',
    }),
    clerkNoShowShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.25,
      description: 'Clerks who press no_show after one recall instead of recalling on',
    }),
    returnShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.3,
      description: 'Of the no-shows: come back later and are called by number',
    }),
    transferShare: Type.Number({ minimum: 0, maximum: 1, default: 0.04 }),
    dossierShare: Type.Record(Type.String(), Share, {
      default: { 'tu-van': 0 },
      description: 'Share of citizens who hand in a dossier, per service; others: defaultDossierShare',
    }),
    defaultDossierShare: Type.Number({ minimum: 0, maximum: 1, default: 0.7 }),
    scanShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'Dossiers read by the scanner (the rest are typed in on finish)',
    }),
    agencyCode: Type.String({
      pattern: '^[A-Z0-9]{3}\\.[A-Z0-9]{2}\\.[A-Z0-9]{2}\\.[A-Z0-9]{3}$',
      default: '000.00.31.H47',
      description: 'Receiving agency code in the national dossier code',
    }),
    pressServeShare: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
    implicitFinishShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.15,
      description: 'Clerks who press next without finish',
    }),
    breakShare: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.3,
      description: 'Chance of a short break per counter per session',
    }),
    ratingShare: Type.Number({ minimum: 0, maximum: 1, default: 0.8 }),
    scoreWeights: Type.Array(Type.Number({ minimum: 0 }), {
      minItems: 2,
      default: [3, 9, 38, 50],
      description: 'Relative weights of scores 1..n (stretched to the office scale)',
    }),
    longWaitMinutes: Type.Number({ minimum: 0, default: 30 }),
    longWaitScoreWeights: Type.Array(Type.Number({ minimum: 0 }), {
      minItems: 2,
      default: [12, 25, 38, 25],
      description: 'Score weights for citizens who waited longer than longWaitMinutes',
    }),
  },
  { additionalProperties: false },
);
export type DayProfile = Static<typeof DayProfileSchema>;

/** The profile with every default filled in, or an error that names the field. */
export function dayProfile(input: unknown = {}): DayProfile {
  const withDefaults = Value.Default(DayProfileSchema, structuredClone(input ?? {})) as Record<
    string,
    unknown
  >;
  withDefaults.defaultServiceMinutes ??= { median: 6, sigma: 0.5 };
  withDefaults.walkSeconds ??= { median: 25, sigma: 0.4 };
  const issues = schemaIssues(DayProfileSchema, withDefaults);
  if (issues.length > 0)
    throw new Error(
      `day profile: ${issues
        .slice(0, 3)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    );
  return withDefaults as DayProfile;
}

export function loadDayProfile(file: string): DayProfile {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the day profile (${(e as Error).message})`);
  }
  try {
    return dayProfile(raw);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Applies `--rate` values: `1.5` scales every service, `ho-tich=2` one service (repeatable, comma lists
 * allowed). Throws with the offending text when a value is not a positive number.
 */
export function applyRates(profile: DayProfile, rates: string[], services: string[]): DayProfile {
  const p = structuredClone(profile);
  for (const part of rates
    .flatMap((r) => r.split(','))
    .map((r) => r.trim())
    .filter(Boolean)) {
    const m = /^(?:([a-z0-9][a-z0-9-]{0,31})=)?([0-9]*\.?[0-9]+)$/.exec(part);
    const factor = m ? Number(m[2]) : NaN;
    if (!m || !(factor > 0))
      throw new Error(`--rate "${part}": use a positive factor (1.5) or service=factor (ho-tich=2)`);
    const service = m[1];
    if (service === undefined) {
      p.rate *= factor;
      continue;
    }
    if (!services.includes(service))
      throw new Error(`--rate "${part}": the office has no service "${service}" (${services.join(', ')})`);
    p.arrivalsPerDay[service] = (p.arrivalsPerDay[service] ?? p.defaultArrivalsPerDay) * factor;
  }
  return p;
}
