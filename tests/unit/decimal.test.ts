import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amountRefusalMessage, parseAmount, parseDecimal, readJsonNumber, STORED, toUnits, type AmountKind } from '../../src/domain/decimal.js';

/*
 * The one money parser (domain/decimal.ts parseAmount) against the rules it replaced: a stake
 * amount was a trimmed string matching /^\d{1,20}(\.\d{1,18})?$/ (a leading minus refused as
 * negative), or a JSON number read back as the decimal written with at most 15 significant
 * digits; a credit or withdrawal was that and > 0. `previous` is that rule, written again here.
 */
function previous(value: string | number, kind: AmountKind): bigint | null {
  if (typeof value === 'number') {
    const written = Number.isFinite(value) ? readJsonNumber(String(value)) : null;
    return !written || written.significantDigits > 15 ? null : previous(written.decimal, kind);
  }
  const text = value.trim();
  if (/^-\s*\d/.test(text) || !/^\d{1,20}(\.\d{1,18})?$/.test(text)) return null;
  const [whole, fraction = ''] = text.split('.');
  const units = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, '0'));
  return kind === 'movement' && units === 0n ? null : units;
}

const parsed = (value: string | number, kind: AmountKind) => {
  const result = parseAmount(value, kind);
  return result.ok ? result.units : null;
};

const E18 = 10n ** 18n;

describe('money amounts: one parser', () => {
  // [value, stake (units or refused), the reason when refused]
  const table: [string | number, bigint | null, string | null][] = [
    ['125.5', 1255n * 10n ** 17n, null],
    ['0', 0n, null],
    ['007', 7n * E18, null],
    [' 1', E18, null],
    ['1\n', E18, null],
    ['0.0000000001', 10n ** 8n, null],
    ['0.000000000000000001', 1n, null],
    ['1.000000000000000000', E18, null],
    ['99999999999999999999', 99999999999999999999n * E18, null],
    [12.5, 125n * 10n ** 17n, null],
    [1.5e2, 150n * E18, null],
    [-0, 0n, null],
    [123456789012345, 123456789012345n * E18, null],
    ['1e3', null, 'not-plain'],
    ['-0', null, 'negative'],
    ['-1', null, 'negative'],
    ['- 1', null, 'negative'],
    [-1, null, 'negative'],
    ['+1', null, 'not-plain'],
    ['0.0000000000000000001', null, 'too-many-places'],
    ['1.0000000000000000000', null, 'too-many-places'],
    ['1.', null, 'not-plain'],
    ['.5', null, 'not-plain'],
    ['NaN', null, 'not-plain'],
    ['Infinity', null, 'not-plain'],
    [Number.NaN, null, 'not-plain'],
    [Number.POSITIVE_INFINITY, null, 'not-plain'],
    ['', null, 'not-plain'],
    ['12,5', null, 'not-plain'],
    ['１', null, 'not-plain'],
    ['100000000000000000000', null, 'too-large'],
    ['1'.repeat(400), null, 'too-large'],
    [1e21, null, 'too-large'],
    // eslint-disable-next-line no-loss-of-precision -- the point: a JSON number that is not exact as a double is refused
    [9007199254740993, null, 'inexact-number'],
    [1e-19, null, 'too-many-places'],
  ];

  it.each(table)('%j as a stake: %s (%s)', (value, units, reason) => {
    const result = parseAmount(value, 'stake');
    expect(result).toEqual(units === null ? { ok: false, refusal: expect.objectContaining({ reason }) } : { ok: true, units });
    expect(parsed(value, 'stake')).toBe(previous(value, 'stake'));
  });

  it('a credit or a withdrawal moves something: 0 is refused as zero, the rest as for a stake', () => {
    for (const zero of ['0', '0.000', 0, ' 0 ']) expect(parseAmount(zero, 'movement')).toEqual({ ok: false, refusal: { reason: 'zero' } });
    for (const [value] of table) expect(parsed(value, 'movement')).toBe(previous(value, 'movement'));
  });

  it('accepts and refuses exactly what the previous rules did, on any text and any number', () => {
    const text = fc.stringMatching(/^[ \t0-9.eE+\-,aN]{0,24}$/);
    fc.assert(
      fc.property(fc.oneof(text, fc.double(), fc.integer()), fc.constantFrom<AmountKind>('stake', 'movement'), (value, kind) => {
        expect(parsed(value, kind)).toBe(previous(value, kind));
      }),
      { numRuns: 5000 },
    );
  });

  it('every refusal says what was sent and the form expected', () => {
    const message = (value: string | number, kind: AmountKind) => {
      const result = parseAmount(value, kind);
      if (result.ok) throw new Error(`${value} was accepted`);
      return amountRefusalMessage(value, kind, result.refusal);
    };
    expect(message('1e3', 'stake')).toMatch(/"1e3" is not a plain decimal ≥ 0: .*at most 18 places.*"125\.5"/);
    expect(message('-0', 'stake')).toMatch(/is negative; a stake is a decimal ≥ 0 \(0 withdraws it all\)/);
    expect(message('0', 'movement')).toMatch(/0 moves nothing; send a decimal > 0/);
    expect(message('0.0000000000000000001', 'stake')).toMatch(/more than 18 decimal places/);
    expect(message('1'.repeat(30), 'movement')).toMatch(/more than 20 integer digits.*> 0/);
    // eslint-disable-next-line no-loss-of-precision -- the point: a JSON number that is not exact as a double is refused
    expect(message(9007199254740993, 'stake')).toMatch(/not exact as a JSON number \(16 significant digits, at most 15\); send a decimal string/);
  });
});

describe('stored decimals', () => {
  it('take any sign and trailing zeros beyond 18 places, nothing else', () => {
    expect(toUnits('-0.25')).toBe(-25n * 10n ** 16n);
    expect(toUnits('-0')).toBe(0n);
    expect(toUnits('12.5000000000000000000000')).toBe(125n * 10n ** 17n);
    expect(toUnits('123456789012345678901234')).toBe(123456789012345678901234n * E18);
    expect(() => toUnits('0.0000000000000000001')).toThrow(/more than 18 decimal places/);
    for (const bad of ['1e5', 'NaN', '', '.5', '1.', '+1', ' 1', '1 ']) expect(() => toUnits(bad)).toThrow(/not a plain decimal/);
  });

  it('a positive rule refuses zero however written, a non-negative one the sign', () => {
    expect(parseDecimal('0.000', { sign: 'positive', places: 'significant' })).toEqual({ ok: false, refusal: { reason: 'zero' } });
    expect(parseDecimal('-1', { sign: 'non-negative', places: 'significant' })).toEqual({ ok: false, refusal: { reason: 'negative' } });
    expect(parseDecimal('-1', STORED)).toEqual({ ok: true, units: -E18 });
  });
});
