/**
 * Exact decimals for money: integers of 10⁻¹⁸ (bigint), never a float. Amounts carry at most
 * 18 decimal places, payouts fewer, so every sum and difference of them is exact at this scale.
 * One grammar (`parseDecimal`) reads every decimal: stored values (`toUnits`) and the money
 * amounts a request sends (`parseAmount`, behind http/schemas.ts `moneyAmount`).
 */
export const DECIMAL_PLACES = 18;
const SCALE = 10n ** BigInt(DECIMAL_PLACES);

/** An amount a request sends has at most this many integer digits. */
export const AMOUNT_INTEGER_DIGITS = 20;

/** A JSON number carries at most this many significant digits through a float64 and back (DBL_DIG). */
export const MAX_JSON_NUMBER_DIGITS = 15;

/** A plain decimal: digits, an optional fraction, an optional leading minus; no exponent. */
export const PLAIN_DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Why a value is not the decimal asked for. */
export type DecimalRefusal =
  | { reason: 'not-plain' }
  | { reason: 'negative' }
  | { reason: 'zero' }
  | { reason: 'too-many-places' }
  | { reason: 'too-large' }
  | { reason: 'inexact-number'; significantDigits: number };

export type DecimalResult = { ok: true; units: bigint } | { ok: false; refusal: DecimalRefusal };

export interface DecimalRules {
  /** which signs are allowed */
  sign: 'any' | 'non-negative' | 'positive';
  /** 'written': every written fraction digit counts toward the 18 (a request); 'significant': trailing zeros do not (a stored value) */
  places: 'written' | 'significant';
  /** at most this many written integer digits, when given */
  integerDigits?: number;
}

/** Stored values and computed figures: any sign, trailing zeros beyond 18 places allowed. */
export const STORED: DecimalRules = { sign: 'any', places: 'significant' };

const refused = (refusal: DecimalRefusal): DecimalResult => ({ ok: false, refusal });

/** Units of 10⁻¹⁸ of a plain decimal text, or why it is not one under `rules`. */
export function parseDecimal(text: string, rules: DecimalRules): DecimalResult {
  const match = PLAIN_DECIMAL.exec(text);
  if (!match) return refused({ reason: 'not-plain' });
  const [, minus, whole, fraction = ''] = match;
  if (minus && rules.sign !== 'any') return refused({ reason: 'negative' });
  const places = rules.places === 'written' ? fraction : fraction.replace(/0+$/, '');
  if (places.length > DECIMAL_PLACES) return refused({ reason: 'too-many-places' });
  if (rules.integerDigits !== undefined && whole.length > rules.integerDigits) return refused({ reason: 'too-large' });
  const magnitude = BigInt(whole) * SCALE + BigInt(places.slice(0, DECIMAL_PLACES).padEnd(DECIMAL_PLACES, '0'));
  if (magnitude === 0n && rules.sign === 'positive') return refused({ reason: 'zero' });
  return { ok: true, units: minus ? -magnitude : magnitude };
}

/** Units of 10⁻¹⁸ of a plain decimal string; RangeError for anything else or for more than 18 decimals. */
export function toUnits(decimal: string): bigint {
  const result = parseDecimal(decimal, STORED);
  if (result.ok) return result.units;
  const why = result.refusal.reason === 'too-many-places' ? `more than ${DECIMAL_PLACES} decimal places` : 'not a plain decimal';
  throw new RangeError(`${why}: ${JSON.stringify(decimal)}`);
}

/** The shortest plain decimal string of a number of units: "0", "12.5", "-0.000001". */
export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const whole = magnitude / SCALE;
  const fraction = (magnitude % SCALE).toString().padStart(DECIMAL_PLACES, '0').replace(/0+$/, '');
  return `${negative && magnitude !== 0n ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

export const minUnits = (a: bigint, b: bigint) => (a < b ? a : b);

/** Which money amounts a request may send: a stake (0 withdraws it all) or a movement (a credit, a withdrawal). */
export type AmountKind = 'stake' | 'movement';

const AMOUNT_RULES: Record<AmountKind, DecimalRules> = {
  stake: { sign: 'non-negative', places: 'written', integerDigits: AMOUNT_INTEGER_DIGITS },
  movement: { sign: 'positive', places: 'written', integerDigits: AMOUNT_INTEGER_DIGITS },
};

/**
 * A money amount as a request sends it: a decimal string (surrounding whitespace ignored), or a
 * JSON number that reads back as the decimal written (at most 15 significant digits).
 */
export function parseAmount(value: string | number, kind: AmountKind): DecimalResult {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return refused({ reason: 'not-plain' });
    const written = exactJsonNumber(String(value));
    if (!written.exact) return refused({ reason: 'inexact-number', significantDigits: written.significantDigits });
    return parseAmount(written.decimal, kind);
  }
  const text = value.trim();
  // "-0" and "- 1" are refused as negative, not as malformed: the sign is what is wrong.
  if (/^-\s*\d/.test(text)) return refused({ reason: 'negative' });
  return parseDecimal(text, AMOUNT_RULES[kind]);
}

/** What is wrong with an amount and the form expected, for the problem naming its field. */
export function amountRefusalMessage(value: unknown, kind: AmountKind, refusal: DecimalRefusal): string {
  const shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  const form = `a plain decimal ${kind === 'stake' ? '≥ 0' : '> 0'}: digits with an optional fraction of at most ${DECIMAL_PLACES} places and at most ${AMOUNT_INTEGER_DIGITS} integer digits, no sign, exponent, NaN or Infinity (e.g. "125.5")`;
  switch (refusal.reason) {
    case 'negative':
      return kind === 'stake' ? `${shown} is negative; a stake is a decimal ≥ 0 (0 withdraws it all)` : `${shown} is negative; send ${form}`;
    case 'zero':
      return 'an amount of 0 moves nothing; send a decimal > 0 such as "125.5"';
    case 'inexact-number':
      return `${shown} is not exact as a JSON number (${refusal.significantDigits} significant digits, at most ${MAX_JSON_NUMBER_DIGITS}); send a decimal string such as "125.5"`;
    case 'too-many-places':
      return `${shown} has more than ${DECIMAL_PLACES} decimal places; send ${form}`;
    case 'too-large':
      return `${shown} has more than ${AMOUNT_INTEGER_DIGITS} integer digits; send ${form}`;
    case 'not-plain':
      return `${shown} is not ${form}`;
  }
}

/** A JSON number token: -?int frac? exp? (RFC 8259 section 6). */
export const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * The decimal a JSON number token denotes, exact only with at most 15 significant digits: a
 * longer one cannot have been meant as a float64 either (http/exact-json.ts refuses it, asking for a string).
 */
export function exactJsonNumber(token: string): { exact: boolean; significantDigits: number; decimal: string } {
  const read = readJsonNumber(token);
  return { exact: read.significantDigits <= MAX_JSON_NUMBER_DIGITS, ...read };
}

/** Exponents beyond this are not amounts: the token is kept as written, so a parser refuses it. */
const MAX_SHIFT = 60;

/**
 * Significant digits of a JSON number token (from the first to the last non-zero digit) and the
 * plain decimal it denotes, computed from its text: "1.5e3" → 2 digits, "1500". A token whose
 * exponent is out of any amount's range keeps its text as the decimal.
 */
export function readJsonNumber(token: string): { significantDigits: number; decimal: string } {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (!match) throw new RangeError(`not a JSON number: ${token}`);
  const [, minus, whole, fraction = '', exponentText = '0'] = match;
  const digits = whole + fraction;
  const significant = digits.replace(/^0+/, '').replace(/0+$/, '');
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > MAX_SHIFT) return { significantDigits: significant.length, decimal: token };
  // The decimal point sits after whole.length digits, moved by the exponent.
  const point = whole.length + exponent;
  const padded = point <= 0 ? '0'.repeat(1 - point) + digits : point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits;
  const at = point <= 0 ? 1 : point;
  const intPart = padded.slice(0, at).replace(/^0+(?=\d)/, '');
  const fracPart = padded.slice(at).replace(/0+$/, '');
  const decimal = `${minus}${intPart}${fracPart ? `.${fracPart}` : ''}`;
  return { significantDigits: significant.length, decimal: /^-0$/.test(decimal) ? '0' : decimal };
}
