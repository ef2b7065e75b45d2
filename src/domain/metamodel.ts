import { gaussianTable, type RankCodes } from './prepared.js';

/**
 * The unconstrained meta-model M_i = Σ s_k G_k,i / Σ s_k, accumulated one prepared submission
 * at a time so memory stays one Float64Array whatever the number of models.
 */
export class StakeWeightedMean {
  readonly #weighted: Float64Array;
  #models = 0;
  #totalStake = 0;

  constructor(n: number) {
    this.#weighted = new Float64Array(n);
  }

  /** Adds s·G for a prepared submission; a stake that is not positive does not count. */
  add(codes: RankCodes, covered: number, stake: number): void {
    if (codes.length !== this.#weighted.length) {
      throw new RangeError(`rank codes cover ${codes.length} ids, the meta-model ${this.#weighted.length}`);
    }
    if (!(stake > 0 && stake < Infinity)) return;
    const table = gaussianTable(covered);
    const weighted = this.#weighted;
    for (let i = 0; i < weighted.length; i++) weighted[i] += stake * table[codes[i]];
    this.#models++;
    this.#totalStake += stake;
  }

  get models(): number {
    return this.#models;
  }

  get totalStake(): number {
    return this.#totalStake;
  }

  /** M, or all NaN when no positive stake was added. */
  result(): Float64Array {
    const out = new Float64Array(this.#weighted.length);
    for (let i = 0; i < out.length; i++) out[i] = this.#weighted[i] / this.#totalStake;
    return out;
  }
}

/** M from prepared vectors held in memory; stakes that are not positive do not count. */
export function stakeWeightedMean(vectors: readonly Float64Array[], stakes: readonly number[]): Float64Array {
  if (vectors.length !== stakes.length) throw new RangeError(`${vectors.length} vectors but ${stakes.length} stakes`);
  const n = vectors.length > 0 ? vectors[0].length : 0;
  const weighted = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < vectors.length; k++) {
    const stake = stakes[k];
    if (!(stake > 0 && stake < Infinity)) continue;
    if (vectors[k].length !== n) throw new RangeError(`vector ${k} has ${vectors[k].length} ids, expected ${n}`);
    for (let i = 0; i < n; i++) weighted[i] += stake * vectors[k][i];
    total += stake;
  }
  for (let i = 0; i < n; i++) weighted[i] /= total;
  return weighted;
}
