import type { RankCodes } from './prepared.js';

/**
 * Near-duplicate submissions of one era: groups of submissions from different accounts whose
 * Spearman correlation is at least `threshold` (0.99). Spearman is the Pearson correlation of the
 * tie-kept ranks over the universe, r_i = (code_i − 1) / 2m for a covered id and 0.5 (the fill of
 * the prepared vector) for one not covered, read straight from the stored rank codes.
 *
 * Exact pairwise work is K² · n (10,000 models × 6,000 ids: 6·10¹¹), so the search is bounded:
 * 1. identical rank vectors (byte-identical copies, or values that order the ids the same way)
 *    are bucketed by digest: Spearman 1, no pair computed; one representative goes on;
 * 2. each representative's standardised ranks z (mean 0, norm 1) are projected on D = 32 fixed
 *    Gaussian directions (K · n · D). For a pair, each projected difference is Gaussian with
 *    variance |z_a − z_b|² = 2(1 − ρ) ≤ 0.02 when ρ ≥ 0.99;
 * 3. representatives sorted on the first projection are compared with the ones within 6 standard
 *    deviations on it, and a pair is checked exactly only when its squared differences summed
 *    over the D directions (a χ²_D times the variance) stay under SPREAD · D · 0.02, which a
 *    duplicate at exactly 0.99 misses with probability below 10⁻⁵ (a closer one far less); at most `maxExactPairs` exact checks (the
 *    reply says when that bound cut the search), none within a group already joined.
 * Groups join through any link (union-find); `spearman` is the weakest link that joined one.
 */

export interface SubmissionRanks {
  /** who submitted: pairs within one account are never duplicates */
  account: string;
  codes: RankCodes;
  /** the m of the tie-kept rank: ids the submission covers */
  covered: number;
  /** a digest of the codes: equal codes, equal digest */
  digest: string;
}

export interface DuplicateGroup {
  /** indexes into the input, ascending */
  members: number[];
  /** the lowest Spearman among the links that joined the group (1 for identical ranks) */
  spearman: number;
}

export const DUPLICATE_THRESHOLD = 0.99;
const DIRECTIONS = 32;
/** A pair goes to the exact check when Σ_d Δp_d² ≤ SPREAD · D · 2(1 − threshold): χ²_32 exceeds 2.5 × 32 with probability below 10⁻⁵. */
const SPREAD = 2.5;
const WINDOW_SIGMAS = 6;
export const MAX_EXACT_PAIRS = 50_000;

export function nearDuplicates(
  submissions: readonly SubmissionRanks[],
  options: { threshold?: number; maxExactPairs?: number } = {},
): { groups: DuplicateGroup[]; complete: boolean } {
  const threshold = options.threshold ?? DUPLICATE_THRESHOLD;
  const maxExact = options.maxExactPairs ?? MAX_EXACT_PAIRS;
  const k = submissions.length;
  const parent = Int32Array.from({ length: k }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const weakest = new Map<number, number>();
  const link = (a: number, b: number, rho: number) => {
    const ra = find(a);
    const rb = find(b);
    const w = Math.min(rho, weakest.get(ra) ?? 1, weakest.get(rb) ?? 1);
    if (ra !== rb) parent[rb] = ra;
    weakest.set(find(a), w);
  };

  // 1. Identical codes: one bucket per digest, checked byte for byte against its representative.
  const representatives: number[] = [];
  const byDigest = new Map<string, number[]>();
  for (let i = 0; i < k; i++) {
    const bucket = byDigest.get(submissions[i].digest) ?? [];
    const same = bucket.find((r) => sameCodes(submissions[r].codes, submissions[i].codes));
    if (same === undefined) {
      bucket.push(i);
      byDigest.set(submissions[i].digest, bucket);
      representatives.push(i);
    } else {
      link(same, i, 1);
    }
  }

  // 2. Projections of each representative's standardised ranks (nothing of size n is kept per submission).
  const n = submissions[0]?.codes.length ?? 0;
  const directions = gaussianDirections(DIRECTIONS, n);
  const moments = representatives.map((i) => rankMoments(submissions[i]));
  const projections = representatives.map((i, j) => (moments[j] === null ? null : project(submissions[i], moments[j], directions)));

  // 3. Candidates within the window on every direction, then the exact Spearman.
  const window = WINDOW_SIGMAS * Math.sqrt(2 * (1 - threshold));
  const bound = SPREAD * DIRECTIONS * 2 * (1 - threshold);
  const order = representatives.map((_, j) => j).filter((j) => projections[j] !== null);
  order.sort((a, b) => projections[a]![0] - projections[b]![0]);
  let exact = 0;
  let complete = true;
  scan: for (let x = 0; x < order.length; x++) {
    const a = order[x];
    const pa = projections[a]!;
    for (let y = x + 1; y < order.length; y++) {
      const b = order[y];
      const pb = projections[b]!;
      if (pb[0] - pa[0] > window) break;
      const ia = representatives[a];
      const ib = representatives[b];
      if (submissions[ia].account === submissions[ib].account || find(ia) === find(ib)) continue;
      let squares = 0;
      for (let d = 0; d < DIRECTIONS && squares <= bound; d++) squares += (pb[d] - pa[d]) ** 2;
      if (squares > bound) continue;
      if (exact >= maxExact) {
        complete = false;
        break scan;
      }
      exact++;
      const rho = correlation(submissions[ia], moments[a]!, submissions[ib], moments[b]!);
      if (rho >= threshold) link(ia, ib, rho);
    }
  }

  return { groups: linkedGroups(submissions, find, weakest), complete };
}

/** The linked sets that span two accounts or more, each with its weakest link, strongest first. */
function linkedGroups(submissions: readonly SubmissionRanks[], find: (i: number) => number, weakest: ReadonlyMap<number, number>): DuplicateGroup[] {
  const members = new Map<number, number[]>();
  for (let i = 0; i < submissions.length; i++) {
    const root = find(i);
    members.set(root, [...(members.get(root) ?? []), i]);
  }
  const groups: DuplicateGroup[] = [];
  for (const [root, list] of members) {
    if (list.length < 2 || new Set(list.map((i) => submissions[i].account)).size < 2) continue;
    groups.push({ members: list, spearman: weakest.get(root) ?? 1 });
  }
  return groups.sort((a, b) => b.spearman - a.spearman || a.members[0] - b.members[0]);
}

/** Spearman of two submissions' ranks over the universe (uncovered ids at 0.5); NaN when one is constant. */
export function rankSpearman(a: SubmissionRanks, b: SubmissionRanks): number {
  const ma = rankMoments(a);
  const mb = rankMoments(b);
  return ma === null || mb === null ? NaN : correlation(a, ma, b, mb);
}

function sameCodes(a: RankCodes, b: RankCodes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Moments {
  mean: number;
  /** |r − mean r| */
  norm: number;
}

/** r_i, the tie-kept rank of an id (0.5 where not covered). */
const rankAt = (s: SubmissionRanks, i: number) => (s.codes[i] === 0 ? 0.5 : (s.codes[i] - 1) / (2 * s.covered));

/** Mean and spread of r; null when r is constant (no correlation is defined). */
function rankMoments(s: SubmissionRanks): Moments | null {
  const n = s.codes.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += rankAt(s, i);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (rankAt(s, i) - mean) ** 2;
  return squares === 0 ? null : { mean, norm: Math.sqrt(squares) };
}

/** Pearson of the two rank vectors: Σ (r_a − mean)(r_b − mean) / (|·| |·|). */
function correlation(a: SubmissionRanks, ma: Moments, b: SubmissionRanks, mb: Moments): number {
  let sum = 0;
  for (let i = 0; i < a.codes.length; i++) sum += (rankAt(a, i) - ma.mean) * (rankAt(b, i) - mb.mean);
  return sum / (ma.norm * mb.norm);
}

/** The standardised ranks (r − mean) / norm projected on each direction. */
function project(s: SubmissionRanks, m: Moments, directions: Float64Array): Float64Array {
  const n = s.codes.length;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = (rankAt(s, i) - m.mean) / m.norm;
  const out = new Float64Array(DIRECTIONS);
  for (let d = 0; d < DIRECTIONS; d++) {
    let sum = 0;
    const offset = d * n;
    for (let i = 0; i < n; i++) sum += directions[offset + i] * z[i];
    out[d] = sum;
  }
  return out;
}

/** `count` directions of n standard normal components from a fixed seed: the same on every replica and run. */
function gaussianDirections(count: number, n: number): Float64Array {
  let state = 0x9e3779b9;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(count * n);
  for (let i = 0; i < out.length; i += 2) {
    // Box–Muller: two independent standard normals from two uniforms in (0, 1).
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
