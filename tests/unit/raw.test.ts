import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRaw, encodeRaw } from '../../src/domain/raw.js';

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

describe('raw value encoding', () => {
  it('gives back every double exactly, whatever the values', () => {
    const value = fc.oneof(
      fc.double({ min: -1e-7, max: 1 + 1e-7, noNaN: true }),
      fc.integer({ min: 0, max: 1_000_000 }).map((k) => k / 1e6),
      fc.integer({ min: 0, max: 999_999_999 }).map((k) => k / 1e9),
      fc.constantFrom(0, -0, 1, 0.5, 0.1, 1e-10, NaN),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 200 }), (values) => {
        const aligned = Float64Array.from(values);
        const { encoding, bytes } = encodeRaw(aligned);
        expect(sameBits(decodeRaw(encoding, bytes), aligned)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('uses 4 bytes a value when every value has at most 9 decimals, with absent ids kept', () => {
    const aligned = Float64Array.from([0.25, NaN, 0.123456, 1, 0, 0.000001]);
    const { encoding, bytes } = encodeRaw(aligned);
    expect(encoding).toBe('decimal');
    expect(bytes.length).toBe(4 + 4 * aligned.length);
    expect(bytes[0]).toBe(6);
    expect(sameBits(decodeRaw(encoding, bytes), aligned)).toBe(true);
  });

  it('keeps 8 bytes a value for full-precision doubles, negative values and negative zero', () => {
    for (const values of [[0.1, 1 / 3], [0.5, -1e-8], [0.5, -0], [0.5, 1e-10]]) {
      const { encoding, bytes } = encodeRaw(Float64Array.from(values));
      expect(encoding, String(values)).toBe('float64');
      expect(bytes.length).toBe(8 * values.length);
    }
  });

  it('refuses a decimal vector it did not write', () => {
    expect(() => decodeRaw('decimal', Uint8Array.from([12, 0, 0, 0]))).toThrow(RangeError);
    expect(() => decodeRaw('decimal', Uint8Array.from([2, 0, 0, 0, 1]))).toThrow(RangeError);
    expect(() => decodeRaw('decimal', Uint8Array.from([2, 1, 0, 0]))).toThrow(RangeError);
  });
});
