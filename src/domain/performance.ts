/** A score series summarised as docs/scoring-and-payouts.md (performance over eras) says; every figure null for an empty series. */
export interface SeriesSummary {
  mean: number | null;
  /** population standard deviation (ddof 0, as numerai-tools' sharpe_ratio) */
  std: number | null;
  /** mean / std; null with fewer than 2 values or no spread */
  sharpe: number | null;
  /** the largest fall of the cumulative sum from its running peak (which starts at 0), in score units */
  maxDrawdown: number | null;
}

export function summarizeSeries(values: readonly number[]): SeriesSummary {
  const n = values.length;
  if (n === 0) return { mean: null, std: null, sharpe: null, maxDrawdown: null };
  let sum = 0;
  for (const x of values) sum += x;
  const mean = sum / n;
  // A constant series has no spread even when its mean rounds away from its value.
  const constant = values.every((x) => x === values[0]);
  let squares = 0;
  if (!constant) for (const x of values) squares += (x - mean) * (x - mean);
  const std = Math.sqrt(squares / n);
  return { mean, std, sharpe: n < 2 || std === 0 ? null : mean / std, maxDrawdown: maxDrawdown(values) };
}

/** max over t of (max over u ≤ t of C_u) − C_t, C_0 = 0, C_t = x_1 + … + x_t. */
export function maxDrawdown(values: readonly number[]): number {
  let cumulative = 0;
  let peak = 0;
  let deepest = 0;
  for (const x of values) {
    cumulative += x;
    if (cumulative > peak) peak = cumulative;
    if (peak - cumulative > deepest) deepest = peak - cumulative;
  }
  return deepest;
}

/** Σ payouts / Σ at-risk stakes, from exact decimal strings; null with no stake. */
export function payoutReturn(totalPayout: string, totalStake: string): number | null {
  const stake = Number(totalStake);
  return stake > 0 ? Number(totalPayout) / stake : null;
}
