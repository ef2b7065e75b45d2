/**
 * docs/scoring-and-payouts.md steps 9 and 10 restated on plain arrays, sharing no code with src/: the
 * oracle the performance and leaderboard tests compare served figures with.
 */

export interface Summary {
  mean: number | null;
  std: number | null;
  sharpe: number | null;
  maxDrawdown: number | null;
}

export function summary(xs: number[]): Summary {
  if (xs.length === 0) return { mean: null, std: null, sharpe: null, maxDrawdown: null };
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.every((x) => x === xs[0]) ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  // Drawdown from the definition: for each t, the highest cumulative sum up to t (C_0 = 0 included) minus C_t.
  const cumulative = [0];
  for (const x of xs) cumulative.push(cumulative[cumulative.length - 1] + x);
  let drawdown = 0;
  for (let t = 1; t < cumulative.length; t++) drawdown = Math.max(drawdown, Math.max(...cumulative.slice(0, t + 1)) - cumulative[t]);
  return { mean, std, sharpe: xs.length < 2 || std === 0 ? null : mean / std, maxDrawdown: drawdown };
}

export interface EraResult {
  era: number;
  model: string;
  corr: number | null;
  mmc: number | null;
  corrMultiplier: number;
  mmcMultiplier: number;
  stake: string | null;
}

export interface Standing {
  rank: number;
  model: string;
  eras: number;
  corrRep: number;
  mmcRep: number;
  score: number;
  stake: string | null;
}

/** The leaderboard over the last `window` of `resolved` eras from on-time per-era results. */
export function standings(results: EraResult[], resolved: number[], window: number): { eras: number[]; rows: Standing[] } {
  const eras = [...resolved].sort((a, b) => a - b).slice(-window);
  const byModel = new Map<string, EraResult[]>();
  for (const r of results) {
    if (!eras.includes(r.era)) continue;
    byModel.set(r.model, [...(byModel.get(r.model) ?? []), r]);
  }
  const rows: Omit<Standing, 'rank'>[] = [];
  for (const [model, all] of byModel) {
    const scored = all.filter((r) => r.corr !== null && r.mmc !== null).sort((a, b) => a.era - b.era);
    if (scored.length === 0) continue;
    const n = scored.length;
    const latest = [...all].sort((a, b) => b.era - a.era)[0];
    rows.push({
      model,
      eras: n,
      corrRep: scored.reduce((s, r) => s + r.corr!, 0) / n,
      mmcRep: scored.reduce((s, r) => s + r.mmc!, 0) / n,
      score: scored.reduce((s, r) => s + r.corrMultiplier * r.corr! + r.mmcMultiplier * r.mmc!, 0) / n,
      stake: latest.stake,
    });
  }
  rows.sort((a, b) => b.score - a.score || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return { eras, rows: rows.map((row, i) => ({ rank: i + 1, ...row })) };
}

/** Checks a served summary against the oracle's to `tolerance`, nulls exactly. */
export function closeTo(served: Summary, expected: Summary, tolerance: number): string[] {
  const wrong: string[] = [];
  for (const key of ['mean', 'std', 'sharpe', 'maxDrawdown'] as const) {
    const a = served[key];
    const b = expected[key];
    if (a === null || b === null ? a !== b : Math.abs(a - b) > tolerance * Math.max(1, Math.abs(b))) wrong.push(`${key}: served ${a}, expected ${b}`);
  }
  return wrong;
}
