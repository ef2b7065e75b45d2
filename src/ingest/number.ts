/**
 * Strict number syntax for CSV cells: an optional sign, digits with an optional fraction
 * (`0.25`, `.25`, `25.`), an optional exponent (`2.5e-1`). No whitespace, hex, `_`,
 * `Infinity` or empty cells — the leniencies of JS `Number()` that would let a broken file
 * through silently.
 */

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const LOWER_E = 101;
const UPPER_E = 69;

/** 10^0 … 10^22: every power of ten a float64 holds exactly. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** What people (and pandas/numpy) write for NaN and the infinities. */
const NON_FINITE_SPELLING = /^[+-]?(?:nan|inf|infinity)$/i;

/** The float64 a strict decimal denotes (±Infinity when it overflows); NaN for any other text. */
export function parseDecimal(text: string): number {
  return parseDecimalSpan(text, 0, text.length);
}

/** `parseDecimal` of `text.slice(start, end)`, without slicing when it can avoid it. */
export function parseDecimalSpan(text: string, start: number, end: number): number {
  let pos = start;
  const sign = text.charCodeAt(pos);
  const negative = sign === MINUS;
  if (negative || sign === PLUS) pos += 1;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  for (let c = text.charCodeAt(pos); pos < end && c >= ZERO && c <= NINE; c = text.charCodeAt(++pos)) {
    mantissa = mantissa * 10 + (c - ZERO);
    digits += 1;
  }
  if (pos < end && text.charCodeAt(pos) === DOT) {
    pos += 1;
    for (let c = text.charCodeAt(pos); pos < end && c >= ZERO && c <= NINE; c = text.charCodeAt(++pos)) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits += 1;
      scale -= 1;
    }
  }
  if (digits === 0) return Number.NaN;
  if (pos < end && (text.charCodeAt(pos) === LOWER_E || text.charCodeAt(pos) === UPPER_E)) {
    const exponent = parseExponent(text, pos + 1, end);
    if (Number.isNaN(exponent)) return Number.NaN;
    scale += exponent;
    pos = end;
  }
  if (pos !== end) return Number.NaN;
  // Clinger's fast path: an exact mantissa times an exact power of ten rounds correctly.
  if (mantissa <= Number.MAX_SAFE_INTEGER && scale >= -22 && scale <= 22) {
    const magnitude = scale < 0 ? mantissa / EXACT_POWERS_OF_TEN[-scale] : mantissa * EXACT_POWERS_OF_TEN[scale];
    return negative ? -magnitude : magnitude;
  }
  // The syntax is already checked; Number() rounds correctly for the long cases.
  return Number(text.slice(start, end));
}

/** The signed integer after an `e`, covering the rest of the span; NaN if it is not one. */
function parseExponent(text: string, start: number, end: number): number {
  let pos = start;
  const sign = text.charCodeAt(pos);
  if (sign === PLUS || sign === MINUS) pos += 1;
  if (pos === end) return Number.NaN;
  let exponent = 0;
  for (; pos < end; pos += 1) {
    const c = text.charCodeAt(pos);
    if (c < ZERO || c > NINE) return Number.NaN;
    // Saturates: any exponent this large already sends the value to the slow path.
    exponent = Math.min(exponent * 10 + (c - ZERO), 1e6);
  }
  return sign === MINUS ? -exponent : exponent;
}

export function isNonFiniteSpelling(text: string): boolean {
  return NON_FINITE_SPELLING.test(text);
}

/** Shortest text that parses back to exactly `value`; keeps the sign of −0. */
export function canonicalNumber(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
