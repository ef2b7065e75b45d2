import type { FastifyInstance } from 'fastify';
import { ADMIN_KEY, bearer } from './app.js';
import { reference, type ReferenceEra } from './reference.js';

export { type ReferenceEra } from './reference.js';

export const referenceEra = (): ReferenceEra => reference.era;

export interface RunBody {
  id: string;
  era: number;
  seq: number;
  trigger: 'close' | 'recompute';
  computedAt: string;
  durationMs: number;
  policy: { id: string; name: string; version: number } | null;
  models: number;
  totalStake: string;
  tradable: number;
  inputs?: { modelId: string; submissionId: string; sha256: string; stake: string }[];
}

export interface MetaModelBody {
  era: number;
  run: Pick<RunBody, 'id' | 'computedAt' | 'policy' | 'models' | 'totalStake'>;
  rows: { id: string; value: number | null; unconstrained: number; excludedBy: string[] }[];
}

export async function closeEra(app: FastifyInstance, era: number, key = ADMIN_KEY) {
  const res = await app.inject({ method: 'POST', url: `/v1/eras/${era}/close`, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`close: ${res.statusCode} ${res.body}`);
  return res.json<{ era: number; status: string; run: RunBody }>();
}

export async function metaModel(app: FastifyInstance, era: number, key = ADMIN_KEY) {
  const res = await app.inject({ method: 'GET', url: `/v1/eras/${era}/meta-model`, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`meta-model: ${res.statusCode} ${res.body}`);
  return res.json<MetaModelBody>();
}

export async function runs(app: FastifyInstance, era: number, key = ADMIN_KEY) {
  const res = await app.inject({ method: 'GET', url: `/v1/eras/${era}/meta-model/runs?inputs=true`, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`runs: ${res.statusCode} ${res.body}`);
  return (res.json<{ era: number; runs: RunBody[] }>()).runs;
}

export async function setStake(app: FastifyInstance, authorKey: string, modelId: string, amount: string) {
  const res = await app.inject({ method: 'PUT', url: `/v1/models/${modelId}/stake`, headers: bearer(authorKey), payload: { amount } });
  if (res.statusCode !== 200) throw new Error(`stake: ${res.statusCode} ${res.body}`);
}

/*
 * An independent statement of docs/scoring-and-payouts.md steps 1–4 on plain arrays, to check the service against:
 * sort-based average ranks and Acklam's inverse normal CDF (the service uses rank codes and AS241).
 */

/** Tie-kept rank over the values that are not undefined; undefined stays undefined. */
export function plainTieKeptRank(values: (number | undefined)[]): (number | undefined)[] {
  const present = values.map((v, i) => [v, i] as const).filter((p): p is readonly [number, number] => p[0] !== undefined);
  present.sort((a, b) => a[0] - b[0]);
  const out: (number | undefined)[] = values.map(() => undefined);
  for (let start = 0; start < present.length; ) {
    let end = start;
    while (end + 1 < present.length && present[end + 1][0] === present[start][0]) end++;
    const averageRank = (start + 1 + end + 1) / 2;
    for (let k = start; k <= end; k++) out[present[k][1]] = (averageRank - 0.5) / present.length;
    start = end + 1;
  }
  return out;
}

/** Acklam's rational approximation of Φ⁻¹ (relative error below 1.2e-9). */
export function acklamInverseNormal(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -acklamInverseNormal(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** M_i = Σ s_k G_k,i / Σ s_k with G_k the gaussianized tie-kept rank, 0 where model k has no value. */
export function plainMetaModel(ids: string[], models: { predictions: Map<string, number>; stake: number }[]): number[] {
  const sum = ids.map(() => 0);
  let total = 0;
  for (const { predictions, stake } of models) {
    const ranks = plainTieKeptRank(ids.map((id) => predictions.get(id)));
    ranks.forEach((r, i) => {
      sum[i] += stake * (r === undefined ? 0 : acklamInverseNormal(r));
    });
    total += stake;
  }
  return sum.map((s) => s / total);
}
