import { power15, signedPow15 } from './gaussian.js';
import { gaussianRankOver } from './prepared.js';
import { pearson } from './stats.js';

/** numerai-tools drops at most 20 % of either side's ids before it refuses to score. */
export const MIN_OVERLAP = 0.8;

export type ScoreStatus =
  | 'ok'
  /** fewer than MIN_OVERLAP of the target ids have a prediction, or of the predicted ids a target */
  | 'insufficient_overlap'
  /** no id left to score over (e.g. the policy excluded every predicted id) */
  | 'empty'
  /** the score is undefined: a constant target or meta-model, or a single id */
  | 'degenerate';

export interface Score {
  value: number | null;
  status: ScoreStatus;
  /** min(kept / ids with a target, kept / ids with a prediction) */
  overlap: number;
}

/** min(kept / ids with a target, kept / ids with a prediction), kept = ids with both; 0 when a side is empty. */
export function predictionOverlap(predictions: ArrayLike<number>, target: ArrayLike<number>): number {
  let predicted = 0;
  let targeted = 0;
  let kept = 0;
  for (let i = 0; i < predictions.length; i++) {
    const hasPrediction = Number.isFinite(predictions[i]);
    const hasTarget = Number.isFinite(target[i]);
    if (hasPrediction) predicted++;
    if (hasTarget) targeted++;
    if (hasPrediction && hasTarget) kept++;
  }
  return overlapOf(kept, targeted, predicted);
}

/** min(kept / targeted, kept / predicted); 0 when a side is empty. */
export function overlapOf(kept: number, targeted: number, predicted: number): number {
  return targeted === 0 || predicted === 0 ? 0 : Math.min(kept / targeted, kept / predicted);
}

/** The target as CORR uses it: t' = power15(t − mean(t)), the mean over every id with a target (NaN elsewhere). */
export function corrTarget(target: ArrayLike<number>): Float64Array {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < target.length; i++) {
    if (!Number.isFinite(target[i])) continue;
    count++;
    sum += target[i];
  }
  const mean = sum / count;
  const out = new Float64Array(target.length);
  for (let i = 0; i < out.length; i++) out[i] = Number.isFinite(target[i]) ? signedPow15(target[i] - mean) : NaN;
  return out;
}

/** numerai-tools' numerai_corr over the ids with both a prediction and a target, without the overlap rule; NaN when undefined. */
export function numeraiCorr(predictions: Float64Array, target: Float64Array): number {
  const kept = bothFinite(predictions, target);
  return pearson(power15(gaussianRankOver(predictions, kept)), corrTarget(target));
}

/** CORR with the overlap rule and a status saying why there is no value. */
export function corrScore(predictions: Float64Array, target: Float64Array): Score {
  const overlap = predictionOverlap(predictions, target);
  if (overlap < MIN_OVERLAP) return { value: null, status: 'insufficient_overlap', overlap };
  return scored(numeraiCorr(predictions, target), overlap);
}

/** What MMC needs over its ids T besides the model, with m and t_c set to 0 outside T. */
export interface MmcBasis {
  mask: Uint8Array;
  size: number;
  /** gaussianized tie-kept rank of the traded signal over T */
  m: Float64Array;
  /** the target, times 4 when it lies in [0, 1] over T, centred over T */
  tc: Float64Array;
  /** mᵀm and t_cᵀm, the same for every model */
  mm: number;
  tm: number;
}

/** m and t_c over the ids with mask = 1 (where signal and target must be finite). */
export function mmcBasis(signal: Float64Array, target: Float64Array, mask: Uint8Array): MmcBasis {
  const m = gaussianRankOver(signal, mask);
  for (let i = 0; i < m.length; i++) if (mask[i] === 0) m[i] = 0;
  return basisWith(m, target, mask);
}

/** The MMC basis from m (the gaussianized signal over the ids with mask = 1, 0 elsewhere) and the target. */
export function basisWith(m: Float64Array, target: Float64Array, mask: Uint8Array): MmcBasis {
  let size = 0;
  let inUnitInterval = true;
  let sum = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    size++;
    sum += target[i];
    if (!(target[i] >= 0 && target[i] <= 1)) inUnitInterval = false;
  }
  const scale = inUnitInterval ? 4 : 1;
  const mean = (scale * sum) / size;
  const tc = new Float64Array(mask.length);
  let mm = 0;
  let tm = 0;
  for (let i = 0; i < tc.length; i++) {
    if (mask[i] === 0) continue;
    tc[i] = scale * target[i] - mean;
    mm += m[i] * m[i];
    tm += tc[i] * m[i];
  }
  return { mask, size, m, tc, mm, tm };
}

/**
 * MMC = t_cᵀ p⊥ / |T| with p⊥ = p − m·(pᵀm)/(mᵀm), over the ids with mask = 1; p and m are
 * gaussianized ranks over those ids. NaN when T is empty or m is constant.
 */
export function mmcAgainst(p: Float64Array, m: Float64Array, tc: Float64Array, mask: Uint8Array): number {
  let size = 0;
  let pm = 0;
  let mm = 0;
  let tp = 0;
  let tm = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    size++;
    pm += p[i] * m[i];
    mm += m[i] * m[i];
    tp += tc[i] * p[i];
    tm += tc[i] * m[i];
  }
  if (size === 0 || mm === 0) return NaN;
  return (tp - (tm * pm) / mm) / size;
}

/**
 * numerai-tools' correlation_contribution: T = ids with a prediction, a traded signal (NaN for
 * an excluded id) and a target; with no policy the signal is M. NaN when undefined.
 */
export function mmc(predictions: Float64Array, signal: Float64Array, target: Float64Array): number {
  return mmcOverTradable(predictions, signal, target).value;
}

/** MMC with the same overlap rule as CORR (a model is not scored on ids it did not predict). */
export function mmcScore(predictions: Float64Array, signal: Float64Array, target: Float64Array): Score {
  const overlap = predictionOverlap(predictions, target);
  if (overlap < MIN_OVERLAP) return { value: null, status: 'insufficient_overlap', overlap };
  const { value, size } = mmcOverTradable(predictions, signal, target);
  return size === 0 ? { value: null, status: 'empty', overlap } : scored(value, overlap);
}

function mmcOverTradable(predictions: Float64Array, signal: Float64Array, target: Float64Array): { value: number; size: number } {
  const mask = bothFinite(predictions, target);
  for (let i = 0; i < mask.length; i++) if (!Number.isFinite(signal[i])) mask[i] = 0;
  const basis = mmcBasis(signal, target, mask);
  return { value: mmcAgainst(gaussianRankOver(predictions, mask), basis.m, basis.tc, mask), size: basis.size };
}


export interface PayoutParams {
  corrMultiplier: number;
  mmcMultiplier: number;
  clip: number;
  stakeThreshold: number;
}

export const DEFAULT_PAYOUT_PARAMS: Readonly<PayoutParams> = Object.freeze({
  corrMultiplier: 0.5,
  mmcMultiplier: 2,
  clip: 0.05,
  stakeThreshold: 72000,
});

/** pf = min(1, stakeThreshold / Σ at-risk): the era's payout factor, 1 when nothing is at risk. */
export function stakeScale(stakeThreshold: number, totalAtRisk: number): number {
  return totalAtRisk > stakeThreshold ? stakeThreshold / totalAtRisk : 1;
}

/**
 * The share of the stake paid (positive) or burned (negative):
 * clip(pf·(corrMultiplier·CORR + mmcMultiplier·MMC), ±clip), pf = min(1, stakeThreshold / Σ at-risk).
 * A model without both scores is neither paid nor burned (0).
 */
export function payoutFactor(corr: number | null, mmc: number | null, params: PayoutParams, totalAtRisk: number): number {
  if (corr === null || mmc === null || !Number.isFinite(corr) || !Number.isFinite(mmc)) return 0;
  const pf = stakeScale(params.stakeThreshold, totalAtRisk);
  const raw = pf * (params.corrMultiplier * corr + params.mmcMultiplier * mmc);
  return Math.min(params.clip, Math.max(-params.clip, raw));
}

/** stake · payoutFactor, as a float: the service computes money in exact decimals from the factor. */
export function payoutAmount(stake: number, corr: number | null, mmc: number | null, params: PayoutParams, totalAtRisk: number): number {
  return stake * payoutFactor(corr, mmc, params, totalAtRisk);
}

/** A computed value as a Score: NaN means undefined ('degenerate'). */
export function scored(value: number, overlap: number): Score {
  return Number.isNaN(value) ? { value: null, status: 'degenerate', overlap } : { value, status: 'ok', overlap };
}

export function countSet(mask: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i];
  return count;
}

/** 1 where both values are finite. */
export function bothFinite(a: ArrayLike<number>, b: ArrayLike<number>): Uint8Array {
  const mask = new Uint8Array(a.length);
  for (let i = 0; i < mask.length; i++) mask[i] = Number.isFinite(a[i]) && Number.isFinite(b[i]) ? 1 : 0;
  return mask;
}
