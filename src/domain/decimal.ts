/**
 * Exact decimals for money: integers of 10⁻¹⁸ (bigint), never a float. Amounts carry at most
 * 18 decimal places, payouts fewer, so every sum and difference of them is exact at this scale.
 */
export const DECIMAL_PLACES = 18;
const SCALE = 10n ** BigInt(DECIMAL_PLACES);

/** A plain decimal: digits, an optional fraction, an optional leading minus; no exponent. */
const PLAIN = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Units of 10⁻¹⁸ of a plain decimal string; RangeError for anything else or for more than 18 decimals. */
export function toUnits(decimal: string): bigint {
  const match = PLAIN.exec(decimal);
  if (!match) throw new RangeError(`not a plain decimal: ${JSON.stringify(decimal)}`);
  const [, minus, whole, fraction = ''] = match;
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > DECIMAL_PLACES) throw new RangeError(`more than ${DECIMAL_PLACES} decimal places: ${decimal}`);
  const units = BigInt(whole) * SCALE + BigInt(trimmed.padEnd(DECIMAL_PLACES, '0'));
  return minus ? -units : units;
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

/** A JSON number carries at most this many significant digits through a float64 and back (DBL_DIG). */
export const MAX_JSON_NUMBER_DIGITS = 15;

/** A JSON number token: -?int frac? exp? (RFC 8259 section 6). */
export const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

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
