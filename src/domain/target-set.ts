import { gaussianTable, pow15GaussianTable, preparedVector, rankCodes, rerankMap, type RankCodes } from './prepared.js';
import { basisWith, bothFinite, corrTarget, countSet, MIN_OVERLAP, overlapOf, scored, type Score } from './scoring.js';
import { TargetScorer } from './target-scorer.js';

export interface TargetScores {
  corr: Score;
  mmc: Score;
}

/**
 * Targets that give a value to the same ids. For a model that predicts all of them, the ranks
 * CORR and MMC take are the same for every member, so each member costs one product per id.
 */
interface Group {
  members: number[];
  /** positions of the ids with a target (CORR's ids when the model predicts them all) */
  targetIds: Int32Array;
  hasTarget: Uint8Array;
  /** per member, then per id: t' centred over the ids with a target */
  corrT: Float64Array;
  /** per member: Σ of the centred t'² */
  corrSquares: Float64Array;
  /** positions of the tradable ids with a target (MMC's T when the model predicts them all) */
  tradableIds: Int32Array;
  tradable: Uint8Array;
  /** gaussianized rank of the traded signal over T, per position of tradableIds */
  m: Float64Array;
  mm: number;
  /** per member, then per id of T: the member's t_c */
  tc: Float64Array;
  /** per member: t_cᵀm */
  tm: Float64Array;
}

/**
 * Scores prepared submissions on several targets of one era in one pass over them: each
 * submission's rank codes are read once and every target is scored from them. A target's
 * numbers depend only on that target and the submission, never on which other targets are
 * scored with it, so one target scored alone gives the same numbers bit for bit.
 * A model that leaves out ids with a target falls back to the per-target scorer.
 * Holds scratch buffers: one instance serves one caller at a time.
 */
export class TargetSetScorer {
  readonly #targets: readonly Float64Array[];
  readonly #signal: Float64Array;
  readonly #groups: Group[];
  readonly #fallback: (TargetScorer | undefined)[];
  readonly #map: Uint32Array;
  readonly #cross: Float64Array;
  readonly #tp: Float64Array;
  /** the model's values over a group's ids, for one target set at a time */
  readonly #values: Float64Array;

  /** signal: the traded signal S aligned to the universe, NaN for an excluded id (M with no policy). */
  constructor(targets: readonly Float64Array[], signal: Float64Array) {
    for (const target of targets) {
      if (target.length !== signal.length) throw new RangeError(`${target.length} targets but a signal of ${signal.length}`);
    }
    this.#targets = targets;
    this.#signal = signal;
    this.#fallback = targets.map(() => undefined);
    this.#map = new Uint32Array(2 * signal.length + 1);
    this.#groups = groupByTargetIds(targets).map((members) => buildGroup(members, targets, signal));
    const widest = Math.max(0, ...this.#groups.map((g) => g.members.length));
    this.#cross = new Float64Array(widest);
    this.#tp = new Float64Array(widest);
    this.#values = new Float64Array(signal.length);
  }

  get size(): number {
    return this.#targets.length;
  }

  /** CORR and MMC of one prepared submission on every target, in the order given. */
  score(codes: RankCodes): TargetScores[] {
    if (codes.length !== this.#signal.length) throw new RangeError(`rank codes cover ${codes.length} ids, the targets ${this.#signal.length}`);
    const out = new Array<TargetScores>(this.#targets.length);
    let covered = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] !== 0) covered++;
    for (const group of this.#groups) this.#scoreGroup(group, codes, covered, out);
    return out;
  }

  #scoreGroup(group: Group, codes: RankCodes, covered: number, out: TargetScores[]) {
    const { members, targetIds, tradableIds } = group;
    let kept = 0;
    for (let k = 0; k < targetIds.length; k++) if (codes[targetIds[k]] !== 0) kept++;
    let inT = 0;
    for (let k = 0; k < tradableIds.length; k++) if (codes[tradableIds[k]] !== 0) inT++;
    const overlap = overlapOf(kept, targetIds.length, covered);
    if (overlap < MIN_OVERLAP) {
      const none: Score = { value: null, status: 'insufficient_overlap', overlap };
      for (const j of members) out[j] = { corr: none, mmc: none };
      return;
    }
    if (kept !== targetIds.length || (inT !== 0 && inT !== tradableIds.length)) {
      for (const j of members) out[j] = this.#fallbackFor(j).score(codes);
      return;
    }
    const corr = this.#corr(group, codes, covered, kept);
    const mmc = inT === 0 ? undefined : this.#mmc(group, codes, covered);
    members.forEach((j, q) => {
      out[j] = {
        corr: scored(corr[q], overlap),
        mmc: mmc === undefined ? { value: null, status: 'empty', overlap } : scored(mmc[q], overlap),
      };
    });
  }

  /** Pearson of the model's pow1.5 gaussian ranks over the ids with a target with each member's t'. */
  #corr(group: Group, codes: RankCodes, covered: number, kept: number): Float64Array {
    const { targetIds, corrT, corrSquares } = group;
    const width = group.members.length;
    const out = this.#cross;
    if (kept < 2) return out.fill(NaN, 0, width);
    const map = kept === covered ? undefined : rerankMap(codes, group.hasTarget, this.#map).map;
    const table = pow15GaussianTable(kept);
    const s = this.#values;
    let sum = 0;
    for (let k = 0; k < kept; k++) {
      const c = codes[targetIds[k]];
      s[k] = table[map === undefined ? c : map[c]];
      sum += s[k];
    }
    const mean = sum / kept;
    let squares = 0;
    for (let k = 0; k < kept; k++) {
      s[k] -= mean;
      squares += s[k] * s[k];
    }
    for (let q = 0; q < width; q++) {
      out[q] = squares === 0 || corrSquares[q] === 0 ? NaN : dot(s, corrT, q * kept, kept) / Math.sqrt(squares * corrSquares[q]);
    }
    return out;
  }

  /** t_cᵀp⊥ / |T| for each member, p the model's gaussian ranks over T. */
  #mmc(group: Group, codes: RankCodes, covered: number): Float64Array {
    const { tradableIds, m, tc, tm, mm } = group;
    const size = tradableIds.length;
    const width = group.members.length;
    const out = this.#tp;
    const map = size === covered ? undefined : rerankMap(codes, group.tradable, this.#map).map;
    const table = gaussianTable(size);
    const p = this.#values;
    for (let k = 0; k < size; k++) {
      const c = codes[tradableIds[k]];
      p[k] = table[map === undefined ? c : map[c]];
    }
    const pm = dot(p, m, 0, size);
    for (let q = 0; q < width; q++) out[q] = mm === 0 ? NaN : (dot(p, tc, q * size, size) - (tm[q] * pm) / mm) / size;
    return out;
  }

  #fallbackFor(j: number): TargetScorer {
    return (this.#fallback[j] ??= new TargetScorer(this.#targets[j], this.#signal));
  }
}

/** Target indexes grouped by the set of ids that have a value, in first-seen order. */
function groupByTargetIds(targets: readonly Float64Array[]): number[][] {
  const groups = new Map<string, number[]>();
  targets.forEach((target, j) => {
    const key = Buffer.from(bothFinite(target, target)).toString('base64');
    const members = groups.get(key);
    if (members) members.push(j);
    else groups.set(key, [j]);
  });
  return [...groups.values()];
}

/** Σ a[k]·b[offset + k] over k < length, with four running sums (the same order whatever the caller). */
function dot(a: Float64Array, b: Float64Array, offset: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += a[k] * b[offset + k];
    s1 += a[k + 1] * b[offset + k + 1];
    s2 += a[k + 2] * b[offset + k + 2];
    s3 += a[k + 3] * b[offset + k + 3];
  }
  for (; k < length; k++) s0 += a[k] * b[offset + k];
  return s0 + s1 + (s2 + s3);
}

function positionsOf(mask: Uint8Array): Int32Array {
  const out = new Int32Array(countSet(mask));
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i] !== 0) out[k++] = i;
  return out;
}

function buildGroup(members: number[], targets: readonly Float64Array[], signal: Float64Array): Group {
  const width = members.length;
  const hasTarget = bothFinite(targets[members[0]], targets[members[0]]);
  const targetIds = positionsOf(hasTarget);
  const corrT = new Float64Array(targetIds.length * width);
  const corrSquares = new Float64Array(width);
  members.forEach((j, q) => {
    const t = corrTarget(targets[j]);
    let sum = 0;
    for (let k = 0; k < targetIds.length; k++) sum += t[targetIds[k]];
    const mean = sum / targetIds.length;
    for (let k = 0; k < targetIds.length; k++) {
      const dt = t[targetIds[k]] - mean;
      corrT[q * targetIds.length + k] = dt;
      corrSquares[q] += dt * dt;
    }
  });

  const tradable = bothFinite(signal, targets[members[0]]);
  const tradableIds = positionsOf(tradable);
  const mFull = preparedVector(rankCodes(signal.map((v, i) => (tradable[i] === 0 ? NaN : v))).codes, tradableIds.length);
  const m = new Float64Array(tradableIds.length);
  let mm = 0;
  for (let k = 0; k < m.length; k++) {
    m[k] = mFull[tradableIds[k]];
    mm += m[k] * m[k];
  }
  const tc = new Float64Array(tradableIds.length * width);
  const tm = new Float64Array(width);
  members.forEach((j, q) => {
    const basis = basisWith(mFull, targets[j], tradable);
    tm[q] = basis.tm;
    for (let k = 0; k < tradableIds.length; k++) tc[q * tradableIds.length + k] = basis.tc[tradableIds[k]];
  });
  return { members, targetIds, hasTarget, corrT, corrSquares, tradableIds, tradable, m, mm, tc, tm };
}
