import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalNumber, isNonFiniteSpelling, parseDecimal, parseDecimalSpan } from '../../src/ingest/number.js';

describe('parseDecimal', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+0.25', 0.25],
    ['-0.25', -0.25],
    ['2.5e-1', 0.25],
    ['2.5E+1', 25],
    ['1e-7', 1e-7],
    ['007.50', 7.5],
    ['0.1000000000000000055511151231257827', 0.1],
    ['0.30000000000000004', 0.30000000000000004],
  ])('reads %s', (text, value) => {
    expect(parseDecimal(text)).toBe(value);
  });

  it('keeps the sign of zero', () => {
    expect(Object.is(parseDecimal('-0'), -0)).toBe(true);
    expect(Object.is(parseDecimal('-0.0e5'), -0)).toBe(true);
  });

  it.each(['', ' 0.5', '0.5 ', '0x10', '0b1', '1_000', 'abc', '.', '-', '+', 'e5', '1e', '1e+', '1.2.3', '--1', 'NaN', 'Infinity', '-inf', '１'])(
    'refuses %j',
    (text) => {
      expect(parseDecimal(text)).toBeNaN();
    },
  );

  it('overflows to Infinity rather than refusing', () => {
    expect(parseDecimal('1e400')).toBe(Number.POSITIVE_INFINITY);
    expect(parseDecimal('-1e400')).toBe(Number.NEGATIVE_INFINITY);
  });

  it('reads a span of a longer text', () => {
    expect(parseDecimalSpan('id,0.75,x', 3, 7)).toBe(0.75);
  });

  it('round-trips every double printed in every notation', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        for (const text of [String(value), value.toExponential(), value.toPrecision(17), value.toPrecision(15)]) {
          expect(parseDecimal(text)).toBe(Number(text));
        }
      }),
    );
  });

  it('agrees with Number() on any strict decimal', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 1, maxLength: 25 });
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), digits, fc.option(digits), fc.option(fc.integer({ min: -330, max: 330 })))
      .map(([sign, whole, fraction, exponent]) => `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `e${exponent}`}`);
    fc.assert(
      fc.property(decimal, (text) => {
        expect(parseDecimal(text)).toBe(Number(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isNonFiniteSpelling', () => {
  it.each(['nan', 'NaN', '-nan', 'inf', '+inf', '-inf', 'Infinity', '-Infinity', 'INF'])('knows %s', (text) => {
    expect(isNonFiniteSpelling(text)).toBe(true);
  });

  it.each(['', 'abc', 'infinite', 'na'])('does not take %j', (text) => {
    expect(isNonFiniteSpelling(text)).toBe(false);
  });
});

describe('canonicalNumber', () => {
  it('prints the shortest round-trip text and keeps -0', () => {
    expect(canonicalNumber(0.1)).toBe('0.1');
    expect(canonicalNumber(1e-7)).toBe('1e-7');
    expect(canonicalNumber(-0)).toBe('-0');
  });
});
