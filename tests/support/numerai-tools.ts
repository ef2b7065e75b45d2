/**
 * An independent re-statement of numerai-tools 0.6.0 on plain arrays, written from its
 * definitions (docs/scoring-and-payouts.md) and sharing no code with src/: the oracle the scoring
 * tests compare served scores with.
 */

/** id → value; an id that is absent has no value. */
export type Series = Map<string, number>;

/** Tie-kept rank: (average 1-based rank − 0.5) / m. */
export function tieKeptRank(values: number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]] === values[order[start]]) end++;
    const average = (start + end) / 2 + 1;
    for (let j = start; j <= end; j++) ranks[order[j]] = (average - 0.5) / values.length;
    start = end + 1;
  }
  return ranks;
}

/** Φ(x) from erf's Taylor series near 0 and erfc's continued fraction in the tails. */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  let lower: number;
  if (z < 2.5) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
    }
    lower = 0.5 * (1 - (2 / Math.sqrt(Math.PI)) * sum);
  } else {
    let f = z;
    for (let k = 80; k >= 1; k--) f = z + k / 2 / f;
    lower = (0.5 * Math.exp(-z * z)) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? lower : 1 - lower;
}

/** Φ⁻¹: Acklam's rational approximation refined with one Halley step. */
export function inverseNormal(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  let x: number;
  if (p < 0.02425) x = tail(Math.sqrt(-2 * Math.log(p)));
  else if (p > 1 - 0.02425) x = -tail(Math.sqrt(-2 * Math.log(1 - p)));
  else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const u = (normalCdf(x) - p) * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

const pow15 = (x: number) => Math.sign(x) * Math.abs(x) ** 1.5;
const gaussianRank = (values: number[]) => tieKeptRank(values).map(inverseNormal);

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** filter_sort_index: the shared ids, or null when more than 20 % of either side would be dropped. */
function sharedIds(a: Series, b: Series): string[] | null {
  const kept = [...a.keys()].filter((id) => b.has(id));
  return kept.length < 0.8 * a.size || kept.length < 0.8 * b.size ? null : kept;
}

/** numerai_corr; null where numerai-tools refuses (too little overlap). */
export function numeraiCorr(predictions: Series, target: Series): number | null {
  const mean = [...target.values()].reduce((s, v) => s + v, 0) / target.size;
  const ids = sharedIds(predictions, target);
  if (ids === null) return null;
  const s = gaussianRank(ids.map((id) => predictions.get(id)!)).map(pow15);
  const t = ids.map((id) => pow15(target.get(id)! - mean));
  return pearson(s, t);
}

/** correlation_contribution over the ids with a prediction, a meta-model value and a target. */
export function correlationContribution(predictions: Series, metaModel: Series, target: Series): number {
  const ids = [...predictions.keys()].filter((id) => metaModel.has(id) && target.has(id));
  const p = gaussianRank(ids.map((id) => predictions.get(id)!));
  const m = gaussianRank(ids.map((id) => metaModel.get(id)!));
  const pm = p.reduce((s, v, i) => s + v * m[i], 0);
  const mm = m.reduce((s, v) => s + v * v, 0);
  const neutral = p.map((v, i) => v - (m[i] * pm) / mm);
  let t = ids.map((id) => target.get(id)!);
  if (t.every((v) => v >= 0 && v <= 1)) t = t.map((v) => 4 * v);
  const mean = t.reduce((s, v) => s + v, 0) / t.length;
  return t.reduce((s, v, i) => s + (v - mean) * neutral[i], 0) / ids.length;
}

/** The stake-weighted mean of gaussianized ranks, a missing id filled with rank 0.5 (Φ⁻¹ = 0). */
export function unconstrainedMetaModel(universe: string[], models: { predictions: Series; stake: number }[]): Series {
  const total = models.reduce((s, m) => s + m.stake, 0);
  const sums = new Map(universe.map((id) => [id, 0]));
  for (const { predictions, stake } of models) {
    const ids = [...predictions.keys()];
    gaussianRank(ids.map((id) => predictions.get(id)!)).forEach((g, i) => sums.set(ids[i], sums.get(ids[i])! + stake * g));
  }
  return new Map(universe.map((id) => [id, sums.get(id)! / total]));
}

export interface PayoutParams {
  corrMultiplier: number;
  mmcMultiplier: number;
  clip: number;
  stakeThreshold: number;
}

/** stake · clip(pf · (corrMultiplier·CORR + mmcMultiplier·MMC), ±clip), pf = min(1, threshold / Σ at-risk). */
export function payout(stake: number, corr: number, mmc: number, params: PayoutParams, totalAtRisk: number): number {
  const pf = Math.min(1, params.stakeThreshold / totalAtRisk);
  const raw = pf * (params.corrMultiplier * corr + params.mmcMultiplier * mmc);
  return stake * Math.min(params.clip, Math.max(-params.clip, raw));
}
