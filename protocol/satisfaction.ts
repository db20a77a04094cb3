// The five-level satisfaction scale of Vietnamese public-service surveys (SIPAS, Ministry of Home Affairs:
// Rất hài lòng … Rất không hài lòng), and how a box's own scale (2 to 10 buttons) maps onto it. Reports count
// ratings by these levels, so offices with 4-button and 5-button devices add up.

/** The five levels, 1 (worst) to 5 (best). */
export const SATISFACTION_LEVELS = [
  { level: 1, label: { vi: 'Rất không hài lòng', en: 'Very dissatisfied' } },
  { level: 2, label: { vi: 'Không hài lòng', en: 'Dissatisfied' } },
  { level: 3, label: { vi: 'Bình thường', en: 'Neutral' } },
  { level: 4, label: { vi: 'Hài lòng', en: 'Satisfied' } },
  { level: 5, label: { vi: 'Rất hài lòng', en: 'Very satisfied' } },
] as const;

/** The lowest level counted as satisfied (Hài lòng; Rất hài lòng above it). */
export const SATISFIED_FROM_LEVEL = 4;

/**
 * Smaller scales as the older devices label them, bottom up: a 4-button box is Không hài lòng, Bình thường,
 * Hài lòng, Rất hài lòng (it has no "Rất không hài lòng"); 3 buttons drop "Rất hài lòng"; 2 are Không hài lòng
 * and Hài lòng. Scales of 6 to 10 levels are spread evenly (1 → 1, the top → 5).
 */
const SMALL_SCALES: Record<number, readonly number[]> = {
  2: [2, 4],
  3: [2, 3, 4],
  4: [2, 3, 4, 5],
  5: [1, 2, 3, 4, 5],
};

/** The levels of a 4-button box's buttons, bottom up (Không hài lòng, Bình thường, Hài lòng, Rất hài lòng). */
export const FOUR_BUTTON_LEVELS: readonly number[] = SMALL_SCALES[4] as readonly number[];

/** The five-level level (1–5) of a score on a box's scale of `scaleMax` levels. */
export function satisfactionLevel(score: number, scaleMax: number): number {
  const max = Math.min(Math.max(2, Math.round(scaleMax)), 10);
  const s = Math.min(Math.max(1, Math.round(score)), max);
  const small = SMALL_SCALES[max];
  if (small) return small[s - 1] as number;
  return 1 + Math.round(((s - 1) * 4) / (max - 1));
}
