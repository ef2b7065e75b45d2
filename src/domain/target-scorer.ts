import { gaussianTable, pow15GaussianTable, preparedVector, rankCodes, rankCodesOver, rerankMap, type RankCodes } from './prepared.js';
import { basisWith, bothFinite, corrTarget, countSet, MIN_OVERLAP, overlapOf, scored, type MmcBasis, type Score } from './scoring.js';

/**
 * Scores many prepared submissions against one target and one traded signal: the target
 * transform, m and t_c are computed once, and each model costs a few O(n) passes over its
 * rank codes (no sort, no Φ⁻¹). Holds scratch buffers: one instance serves one caller at a time.
 */
export class TargetScorer {
  readonly #target: Float64Array;
  readonly #hasTarget: Uint8Array;
  readonly #targeted: number;
  readonly #corrTarget: Float64Array;
  readonly #basis: MmcBasis;
  /** rank codes of the signal over the base T, to re-rank it over a model's smaller T without a sort */
  readonly #signalCodes: Uint32Array;
  /** code → code maps: the identity, and scratch for re-ranking a model over fewer ids */
  readonly #identity: Uint32Array;
  readonly #map: Uint32Array;

  /** signal: the traded signal S aligned to the universe, NaN for an excluded id (M with no policy). */
  constructor(target: Float64Array, signal: Float64Array) {
    if (target.length !== signal.length) throw new RangeError(`${target.length} targets but a signal of ${signal.length}`);
    this.#target = target;
    this.#hasTarget = bothFinite(target, target);
    this.#targeted = countSet(this.#hasTarget);
    this.#corrTarget = corrTarget(target);
    const tradable = bothFinite(signal, target);
    this.#signalCodes = rankCodes(signal.map((v, i) => (tradable[i] === 0 ? NaN : v))).codes;
    this.#basis = basisWith(preparedVector(this.#signalCodes, countSet(tradable)), target, tradable);
    this.#identity = Uint32Array.from({ length: 2 * target.length + 1 }, (_, c) => c);
    this.#map = new Uint32Array(2 * target.length + 1);
  }

  /** CORR and MMC of one prepared submission (its rank codes over the universe). */
  score(codes: RankCodes): { corr: Score; mmc: Score } {
    if (codes.length !== this.#target.length) throw new RangeError(`rank codes cover ${codes.length} ids, the target ${this.#target.length}`);
    const hasTarget = this.#hasTarget;
    const tradable = this.#basis.mask;
    let covered = 0;
    let kept = 0;
    let inT = 0;
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] === 0) continue;
      covered++;
      kept += hasTarget[i];
      inT += tradable[i];
    }
    const overlap = overlapOf(kept, this.#targeted, covered);
    if (overlap < MIN_OVERLAP) {
      return { corr: { value: null, status: 'insufficient_overlap', overlap }, mmc: { value: null, status: 'insufficient_overlap', overlap } };
    }
    const corr = scored(this.#corr(codes, covered, kept), overlap);
    if (inT === 0) return { corr, mmc: { value: null, status: 'empty', overlap } };
    return { corr, mmc: scored(this.#mmc(codes, covered, inT), overlap) };
  }

  #corr(codes: RankCodes, covered: number, kept: number): number {
    // When every covered id has a target the stored ranks are already the ranks over the ids kept.
    const map = kept === covered ? this.#identity : rerankMap(codes, this.#hasTarget, this.#map).map;
    return pearsonOverCodes(codes, map, pow15GaussianTable(kept), this.#corrTarget);
  }

  #mmc(codes: RankCodes, covered: number, size: number): number {
    const basis = size === this.#basis.size ? this.#basis : this.#basisOver(codes, size);
    const map = size === covered ? this.#identity : rerankMap(codes, basis.mask, this.#map).map;
    // table[0] = 0 and m = t_c = 0 outside T, so ids outside T add nothing whatever their code.
    const table = gaussianTable(size);
    const { m, tc } = basis;
    let pm = 0;
    let tp = 0;
    for (let i = 0; i < codes.length; i++) {
      const p = table[map[codes[i]]];
      pm += p * m[i];
      tp += tc[i] * p;
    }
    return basis.mm === 0 ? NaN : (tp - (basis.tm * pm) / basis.mm) / size;
  }

  /** The basis over a model's T when it leaves out some tradable ids with a target (rare). */
  #basisOver(codes: RankCodes, size: number): MmcBasis {
    const mask = new Uint8Array(codes.length);
    for (let i = 0; i < mask.length; i++) mask[i] = codes[i] !== 0 && this.#basis.mask[i] !== 0 ? 1 : 0;
    return basisWith(preparedVector(rankCodesOver(this.#signalCodes, mask).codes, size), this.#target, mask);
  }
}

/** pearson(table[map[code]], t) over the ids with a mapped code and a finite t: the last step of CORR. */
function pearsonOverCodes(codes: RankCodes, map: Uint32Array, table: Float64Array, t: Float64Array): number {
  let count = 0;
  let sumS = 0;
  let sumT = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = map[codes[i]];
    if (c === 0 || t[i] !== t[i]) continue;
    count++;
    sumS += table[c];
    sumT += t[i];
  }
  if (count < 2) return NaN;
  const meanS = sumS / count;
  const meanT = sumT / count;
  let cross = 0;
  let squaresS = 0;
  let squaresT = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = map[codes[i]];
    if (c === 0 || t[i] !== t[i]) continue;
    const ds = table[c] - meanS;
    const dt = t[i] - meanT;
    cross += ds * dt;
    squaresS += ds * ds;
    squaresT += dt * dt;
  }
  return squaresS === 0 || squaresT === 0 ? NaN : cross / Math.sqrt(squaresS * squaresT);
}
