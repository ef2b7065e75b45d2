import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromUnits, readJsonNumber, toUnits } from '../../src/domain/decimal.js';
import { changeAmount, EMPTY_HEAD, headAfter, release, settle, type StakeHead } from '../../src/domain/stake.js';
import { numbersAsDecimalStrings } from '../../src/http/exact-json.js';

const u = (d: string) => toUnits(d);
const head = (amount: string, balance: string, seq = 3): StakeHead => ({ seq, amount: u(amount), balance: u(balance) });

describe('exact decimals', () => {
  it('read and write plain decimals exactly, up to 18 places', () => {
    expect(fromUnits(u('9007199254740993'))).toBe('9007199254740993');
    expect(fromUnits(u('0.000000000000000001'))).toBe('0.000000000000000001');
    expect(fromUnits(u('12.500'))).toBe('12.5');
    expect(fromUnits(u('-0.25'))).toBe('-0.25');
    expect(fromUnits(u('0.1') + u('0.2'))).toBe('0.3');
    expect(() => u('0.0000000000000000001')).toThrow(/18 decimal places/);
    for (const bad of ['1e5', 'NaN', '', '.5', '1.', '+1', ' 1']) expect(() => u(bad)).toThrow(RangeError);
  });

  it('read a JSON number token as the decimal written, counting its significant digits', () => {
    expect(readJsonNumber('9007199254740993')).toEqual({ significantDigits: 16, decimal: '9007199254740993' });
    expect(readJsonNumber('123456789012345')).toEqual({ significantDigits: 15, decimal: '123456789012345' });
    expect(readJsonNumber('1e2')).toEqual({ significantDigits: 1, decimal: '100' });
    expect(readJsonNumber('1.5E-3')).toEqual({ significantDigits: 2, decimal: '0.0015' });
    expect(readJsonNumber('0.10')).toEqual({ significantDigits: 1, decimal: '0.1' });
    expect(readJsonNumber('-0.0')).toEqual({ significantDigits: 0, decimal: '0' });
    expect(readJsonNumber('12.5e1')).toEqual({ significantDigits: 3, decimal: '125' });
    expect(readJsonNumber('1e400').decimal).toBe('1e400');
  });

  it('a JSON number with at most 15 significant digits reads back as the float64 JSON.parse makes of it', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }), (x) => {
        const token = x.toPrecision(15);
        const { decimal } = readJsonNumber(token);
        expect(Number(decimal)).toBe(Number(token));
      }),
    );
  });

  it('rewrites JSON numbers as decimal strings and refuses more than 15 significant digits, naming the field', () => {
    expect(numbersAsDecimalStrings('{"amount": 12.50}')).toBe('{"amount": "12.5"}');
    expect(numbersAsDecimalStrings('{"amount":1e2,"x":"a:1"}')).toBe('{"amount":"100","x":"a:1"}');
    expect(numbersAsDecimalStrings('{"a\\"b": -3}')).toBe('{"a\\"b": "-3"}');
    expect(numbersAsDecimalStrings('{"amount": 01}')).toBe('{"amount": 01}');
    expect(numbersAsDecimalStrings('{"amount": "9007199254740993"}')).toBe('{"amount": "9007199254740993"}');
    expect(() => numbersAsDecimalStrings('{"amount": 9007199254740993}')).toThrow(/body\.amount .*16 significant digits.*decimal string/);
  });
});

describe('stake rules', () => {
  it('raising the amount is a deposit; lowering it a release of the difference with delta 0', () => {
    const raised = changeAmount(EMPTY_HEAD, u('100'))!;
    expect(raised.entry).toMatchObject({ kind: 'deposit', seq: 1, delta: u('100'), amount: u('100'), balance: u('100') });
    const lowered = changeAmount(headAfter(raised.entry), u('30'))!;
    expect(lowered.release).toBe(u('70'));
    expect(lowered.entry).toMatchObject({ kind: 'release_requested', seq: 2, delta: 0n, amount: u('30'), balance: u('100') });
    expect(changeAmount(headAfter(lowered.entry), u('30'))).toBeNull();
  });

  it('a payout adds to the amount; a burn comes off the amount, then pending releases oldest first, cut at the balance', () => {
    expect(settle(head('10', '50'), [], 7, u('2.5')).entry).toMatchObject({ kind: 'payout', delta: u('2.5'), amount: u('12.5'), balance: u('52.5'), era: 7 });

    const releases = [{ id: '1', remaining: u('15') }, { id: '2', remaining: u('25') }];
    const small = settle(head('10', '50'), releases, 7, u('-4'));
    expect(small.entry).toMatchObject({ kind: 'burn', delta: u('-4'), amount: u('6'), balance: u('46'), note: null });
    expect(small.taken).toEqual([]);

    const deep = settle(head('10', '50'), releases, 7, u('-30'));
    expect(deep.entry).toMatchObject({ kind: 'burn', delta: u('-30'), amount: 0n, balance: u('20'), note: '20 of it from pending releases' });
    expect(deep.taken).toEqual([{ id: '1', amount: u('15') }, { id: '2', amount: u('5') }]);

    const cut = settle(head('10', '50'), releases, 7, u('-80'));
    expect(cut.entry).toMatchObject({ delta: u('-50'), amount: 0n, balance: 0n });
    expect(cut.entry.note).toBe('burn of 80 cut at the balance of 50; 40 of it from pending releases');
    expect(cut.taken).toEqual([{ id: '1', amount: u('15') }, { id: '2', amount: u('25') }]);
  });

  it('a release takes what burns left of it out of the balance, leaving the amount', () => {
    expect(release(head('10', '30'), { id: '4', remaining: u('20') }, 9)).toMatchObject({ kind: 'released', delta: u('-20'), amount: u('10'), balance: u('10'), era: 9, releaseId: '4' });
    expect(release(head('10', '10'), { id: '5', remaining: 0n }, 9).note).toMatch(/burned in full/);
  });
});
