import { type Cache, boundedCache } from '../cache.js';
import { inverseNormalCdf, power15 } from './gaussian.js';
import { doubledAverageRanks } from './rank.js';

/**
 * A prepared submission stored exactly (docs/scoring-and-payouts.md, the meta-model): code_i = 2·avgRank_i over
 * the ids the submission covers (2..2m), 0 for an id it does not cover. The tie-kept rank is
 * (code − 1) / 2m, so decoding is a table lookup.
 */
export type RankCodes = Uint16Array | Uint32Array;

export interface CoveredCodes {
  codes: Uint32Array;
  covered: number;
}

/** Rank codes of predictions aligned to the universe order, NaN for an id not submitted. */
export function rankCodes(aligned: Float64Array): CoveredCodes {
  const { doubled, count } = doubledAverageRanks(aligned);
  return { codes: doubled, covered: count };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian bytes: a header of `width` bytes whose first byte is the width (2 or 4),
 * then the codes. The header is padded to the width so the codes stay aligned when the
 * buffer is, which lets decodeRankCodes return a view instead of a copy.
 */
export function encodeRankCodes(codes: ArrayLike<number>): Buffer {
  let max = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] > max) max = codes[i];
  const width = max < 65536 ? 2 : 4;
  const buf = Buffer.alloc(width * (codes.length + 1));
  buf[0] = width;
  if (LITTLE_ENDIAN_HOST && buf.byteOffset % width === 0) {
    const body = width === 2 ? new Uint16Array(buf.buffer, buf.byteOffset + 2, codes.length) : new Uint32Array(buf.buffer, buf.byteOffset + 4, codes.length);
    body.set(codes);
  } else {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let i = 0; i < codes.length; i++) {
      if (width === 2) view.setUint16(2 + 2 * i, codes[i], true);
      else view.setUint32(4 + 4 * i, codes[i], true);
    }
  }
  return buf;
}

/** The codes of encodeRankCodes: a view on the buffer when it is aligned, a copy otherwise. */
export function decodeRankCodes(buf: Uint8Array): RankCodes {
  const width = buf[0];
  if ((width !== 2 && width !== 4) || buf.length < width || (buf.length - width) % width !== 0) {
    throw new RangeError(`not an encoded rank-code vector (width byte ${width}, ${buf.length} bytes)`);
  }
  const count = (buf.length - width) / width;
  const start = buf.byteOffset + width;
  if (LITTLE_ENDIAN_HOST && start % width === 0) {
    return width === 2 ? new Uint16Array(buf.buffer, start, count) : new Uint32Array(buf.buffer, start, count);
  }
  const out = width === 2 ? new Uint16Array(count) : new Uint32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(buf.subarray(width));
  } else {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let i = 0; i < count; i++) out[i] = width === 2 ? view.getUint16(width + 2 * i, true) : view.getUint32(width + 4 * i, true);
  }
  return out;
}

/**
 * table[c] = Φ⁻¹((c − 1) / 2m), the gaussianized tie-kept rank of code c among m ranked ids,
 * with table[0] = 0 (an id not covered is filled with rank 0.5). Cached by m and shared:
 * callers must not write to it.
 */
export function gaussianTable(m: number): Float64Array {
  return cachedByM(gaussianTables, m, () => {
    const table = new Float64Array(2 * m + 1);
    for (let c = 1; c <= 2 * m; c++) table[c] = inverseNormalCdf((c - 1) / (2 * m));
    return table;
  });
}

/** power15 of gaussianTable(m): what CORR correlates with the target, per code. Cached and shared likewise. */
export function pow15GaussianTable(m: number): Float64Array {
  return cachedByM(pow15Tables, m, () => power15(gaussianTable(m)));
}

// Most models cover every id, so one m serves nearly all of them; a few more cover the rest.
const TABLE_CACHE_SIZE = 8;
const TABLE_STALENESS = 'a table is a pure function of m: an entry never goes stale';
const gaussianTables = boundedCache<number, Float64Array>({ max: TABLE_CACHE_SIZE, staleness: TABLE_STALENESS });
const pow15Tables = boundedCache<number, Float64Array>({ max: TABLE_CACHE_SIZE, staleness: TABLE_STALENESS });

function cachedByM(cache: Cache<number, Float64Array>, m: number, build: () => Float64Array): Float64Array {
  let table = cache.get(m);
  if (table === undefined) {
    table = build();
    cache.set(m, table);
  }
  return table;
}

/** The prepared vector G_k: gaussianized tie-kept rank over covered ids, 0 elsewhere. */
export function preparedVector(codes: ArrayLike<number>, covered: number): Float64Array {
  const table = gaussianTable(covered);
  const out = new Float64Array(codes.length);
  for (let i = 0; i < out.length; i++) out[i] = table[codes[i]];
  return out;
}

/**
 * map[c] = the code an id with code c takes when the submission is re-ranked among the ids
 * with mask = 1 that it covers (0 for a code none of them has). Codes preserve order and
 * ties, so counting re-ranks in O(n) with no sort. map has length 2n + 1 (a code is ≤ 2n).
 */
export function rerankMap(codes: ArrayLike<number>, mask: Uint8Array, map: Uint32Array = new Uint32Array(2 * codes.length + 1)): { map: Uint32Array; covered: number } {
  const n = codes.length;
  map.fill(0, 0, 2 * n + 1);
  for (let i = 0; i < n; i++) map[codes[i]] += mask[i] === 0 ? 0 : 1;
  map[0] = 0;
  let below = 0;
  for (let c = 1; c <= 2 * n; c++) {
    const tied = map[c];
    if (tied === 0) continue;
    map[c] = 2 * below + tied + 1;
    below += tied;
  }
  return { map, covered: below };
}

/** Rank codes of the submission re-ranked among the ids with mask = 1 that it covers, 0 elsewhere. */
export function rankCodesOver(codes: ArrayLike<number>, mask: Uint8Array, out: Uint32Array = new Uint32Array(codes.length)): CoveredCodes {
  const { map, covered } = rerankMap(codes, mask);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] === 0 ? 0 : map[codes[i]];
  return { codes: out, covered };
}

/**
 * Gaussianized tie-kept rank of the submission over the ids with mask = 1 that it covers,
 * NaN elsewhere: what CORR and MMC rank over.
 */
export function regaussianizeOver(codes: ArrayLike<number>, mask: Uint8Array, out: Float64Array = new Float64Array(codes.length)): Float64Array {
  const reranked = rankCodesOver(codes, mask);
  return gaussianOfCodes(reranked.codes, reranked.covered, out);
}

/** Gaussianized tie-kept rank of a float signal over the ids with mask = 1 where it is not NaN, NaN elsewhere. */
export function gaussianRankOver(values: Float64Array, mask: Uint8Array): Float64Array {
  const kept = new Float64Array(values.length);
  for (let i = 0; i < kept.length; i++) kept[i] = mask[i] !== 0 ? values[i] : NaN;
  const { doubled, count } = doubledAverageRanks(kept);
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = doubled[i] === 0 ? NaN : inverseNormalCdf((doubled[i] - 1) / (2 * count));
  return out;
}

/** Φ⁻¹ of the tie-kept rank each code stands for among m ids, NaN for code 0 (not ranked). */
export function gaussianOfCodes(codes: ArrayLike<number>, m: number, out: Float64Array = new Float64Array(codes.length)): Float64Array {
  const table = gaussianTable(m);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i] === 0 ? NaN : table[codes[i]];
  return out;
}
