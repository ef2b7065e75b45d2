import { decodeFloat64, encodeFloat64 } from './packed.js';

/**
 * How a submission's raw values are stored, exactly as received either way:
 * - `float64`: 8 bytes a value, little-endian, NaN where the submission has no value;
 * - `decimal`: when every value is some k / 10^d with 0 ≤ k < 2^32 − 1 and d ≤ 9 (the usual
 *   CSV written with a fixed number of decimals), a header byte d, three zero bytes, then k
 *   as 4 bytes a value, little-endian, 2^32 − 1 where there is no value. Half the bytes, and
 *   k / 10^d gives back the very same double (checked for every value when encoding).
 */
export type RawEncoding = 'float64' | 'decimal';

const MAX_DECIMALS = 9;
const ABSENT = 0xffffffff;
const HEADER = 4;
const POWERS = Array.from({ length: MAX_DECIMALS + 1 }, (_, d) => 10 ** d);

export interface EncodedRaw {
  encoding: RawEncoding;
  bytes: Buffer;
}

/** The most compact exact encoding of values aligned to the universe (NaN where absent). */
export function encodeRaw(values: Float64Array): EncodedRaw {
  const bytes = encodeDecimal(values);
  return bytes === undefined ? { encoding: 'float64', bytes: encodeFloat64(values) } : { encoding: 'decimal', bytes };
}

export function decodeRaw(encoding: RawEncoding, bytes: Uint8Array): Float64Array {
  if (encoding === 'float64') return decodeFloat64(bytes);
  if (bytes.length < HEADER || (bytes.length - HEADER) % 4 !== 0 || bytes[0] > MAX_DECIMALS || bytes[1] | bytes[2] | bytes[3]) {
    throw new RangeError(`not a decimal raw vector (${bytes.length} bytes, ${bytes[0]} decimals)`);
  }
  const power = POWERS[bytes[0]];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array((bytes.length - HEADER) / 4);
  for (let i = 0; i < out.length; i++) {
    const k = view.getUint32(HEADER + 4 * i, true);
    out[i] = k === ABSENT ? NaN : k / power;
  }
  return out;
}

/**
 * The decimal layout with the fewest decimals d ≤ 9 that spell every value exactly (k / 10^d
 * is the value), or undefined. One pass: when a value needs more decimals than the values
 * before it, d grows and the pass starts over (a value spelled with d decimals is spelled by
 * any more), which happens at most 9 times and in practice only within the first few values.
 */
function encodeDecimal(values: Float64Array): Buffer | undefined {
  const bytes = Buffer.alloc(HEADER + 4 * values.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let d = 0;
  let power = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let k = ABSENT;
    if (v === v) {
      k = Math.round(v * power);
      if (!(k >= 0 && k < ABSENT) || (k === 0 && 1 / v < 0)) return undefined;
      if (k / power !== v) {
        if (d === MAX_DECIMALS) return undefined;
        power = POWERS[++d];
        i = -1;
        continue;
      }
    }
    view.setUint32(HEADER + 4 * i, k, true);
  }
  bytes[0] = d;
  return bytes;
}
