import { LIVE_ID_PATTERN } from '../domain/universe.js';
import { isNonFiniteSpelling, parseDecimal } from './number.js';
import { type BodyProblemCode, type Describe, type ProblemCollector, RepeatedIds, listed, plural, quoted } from './problems.js';

/** An era's live ids in universe order, and each id's position in that order. */
export interface LiveUniverse {
  readonly ids: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

export function indexLiveIds(ids: readonly string[]): LiveUniverse {
  return { ids, index: new Map(ids.map((id, slot) => [id, slot])) };
}

/** Which values an id/value body may hold, and what they are called in messages. */
export interface ValueRule {
  readonly noun: string;
  readonly min: number;
  readonly max: number;
  readonly rangeLabel: string;
}

/** How a row's position is shown in messages: a CSV line or a path into the JSON body. */
export interface RowLocator {
  readonly kind: 'lines' | 'indexes';
  id(position: number): string;
  value(position: number): string;
}

export const CSV_LOCATOR: RowLocator = {
  kind: 'lines',
  id: (line) => `line ${line}`,
  value: (line) => `line ${line}`,
};

/** `{"ids": [...], "<valuesKey>": [...]}` */
export function columnsLocator(valuesKey: string): RowLocator {
  return { kind: 'indexes', id: (index) => `ids[${index}]`, value: (index) => `${valuesKey}[${index}]` };
}

/** `{"rows": [{"id": ..., ...}]}` */
export const ROWS_LOCATOR: RowLocator = {
  kind: 'indexes',
  id: (index) => `rows[${index}].id`,
  value: (index) => `rows[${index}]`,
};

const UNSEEN = 0;
const SEEN = 1;
const REPEATED = 2;

/**
 * Places id/value rows into a Float64Array in universe order (NaN where no row), noting
 * every id and value fault in the collector instead of stopping at the first.
 */
export class UniverseAligner {
  readonly aligned: Float64Array;
  rows = 0;
  /** Distinct universe ids present, whatever their values. */
  covered = 0;
  /** Values that passed every check. */
  valid = 0;
  firstValid = Number.NaN;
  /** Every value outside the range lay in [0, 100]: percentages, most likely. */
  private outOfRange = 0;
  private allOutOfRangeWithin100 = true;
  private varied = false;
  private nextSlot = 0;
  private readonly seen: Uint8Array;
  private readonly seenOffUniverse = new Map<string, number>();
  private readonly repeated = new RepeatedIds();

  constructor(
    private readonly universe: LiveUniverse,
    private readonly problems: ProblemCollector,
    private readonly rule: ValueRule,
    private readonly where: RowLocator,
  ) {
    this.aligned = new Float64Array(universe.ids.length).fill(Number.NaN);
    this.seen = new Uint8Array(universe.ids.length);
  }

  /**
   * Every value is valid and the same one. With invalid values the question waits until
   * they are fixed; a single value has nothing to differ from (the reference agrees: its
   * standard deviation is NaN, which passes).
   */
  get isConstant(): boolean {
    return this.valid >= 2 && this.valid === this.rows && !this.varied;
  }

  /** Values were refused as outside [0, 1] and every one of them lies in [0, 100]. */
  get looksLikePercentages(): boolean {
    return this.outOfRange > 0 && this.allOutOfRangeWithin100 && this.rule.max <= 1 + 1e-6;
  }

  /** A CSV row: both cells as written. */
  addText(id: string, text: string, position: number): void {
    this.rows += 1;
    const slot = this.slotOf(id, position);
    const value = this.readText(text, position);
    if (slot >= 0 && !Number.isNaN(value)) this.aligned[slot] = value;
  }

  /** A JSON row: whatever the body held. */
  addJson(id: unknown, value: unknown, position: number): void {
    this.rows += 1;
    const slot = typeof id === 'string' ? this.slotOf(id, position) : this.nonStringId(id, position);
    const number = this.readJson(value, position);
    if (slot >= 0 && !Number.isNaN(number)) this.aligned[slot] = number;
  }

  /** The first `limit` universe ids no row named, in universe order. */
  missingIds(limit: number): string[] {
    const missing: string[] = [];
    for (let slot = 0; slot < this.seen.length && missing.length < limit; slot += 1) {
      if (this.seen[slot] === UNSEEN) missing.push(this.universe.ids[slot]);
    }
    return missing;
  }

  /** Notes the duplicates, which are only known once every row is in. */
  finish(): void {
    this.repeated.report(this.problems, this.where.kind, (position) => this.where.id(position));
  }

  private slotOf(id: string, position: number): number {
    const { ids, index } = this.universe;
    // Bodies usually list ids in universe order: comparing with the next one skips hashing.
    const slot = ids[this.nextSlot] === id ? this.nextSlot : index.get(id);
    if (slot === undefined) {
      this.offUniverse(id, position);
      return -1;
    }
    this.nextSlot = slot + 1;
    const state = this.seen[slot];
    if (state === UNSEEN) {
      this.seen[slot] = SEEN;
      this.covered += 1;
      return slot;
    }
    this.seen[slot] = REPEATED;
    this.repeated.note(id, position, state === SEEN);
    return -1;
  }

  private offUniverse(id: string, position: number): void {
    if (!LIVE_ID_PATTERN.test(id)) {
      this.problems.note('invalid_id', position, `${this.where.id(position)}: ${quoted(id)}`);
      return;
    }
    const state = this.seenOffUniverse.get(id) ?? UNSEEN;
    this.seenOffUniverse.set(id, state === UNSEEN ? SEEN : REPEATED);
    if (state === UNSEEN) this.problems.note('unknown_ids', position, id, id);
    else this.repeated.note(id, position, state === SEEN);
  }

  private nonStringId(id: unknown, position: number): number {
    this.problems.note('invalid_id', position, `${this.where.id(position)}: ${describeJson(id)}`);
    return -1;
  }

  private readText(text: string, position: number): number {
    const value = parseDecimal(text);
    if (Number.isFinite(value)) return this.checkRange(value, position, text);
    const code = Number.isNaN(value) && !isNonFiniteSpelling(text) ? 'non_numeric' : 'not_finite';
    this.problems.note(code, position, `${this.where.value(position)}: ${quoted(text)}`);
    return Number.NaN;
  }

  private readJson(value: unknown, position: number): number {
    if (typeof value === 'number' && Number.isFinite(value)) return this.checkRange(value, position, String(value));
    const code = typeof value === 'number' || value === null ? 'not_finite' : 'non_numeric';
    this.problems.note(code, position, `${this.where.value(position)}: ${describeJson(value)}`);
    return Number.NaN;
  }

  private checkRange(value: number, position: number, written: string): number {
    if (value < this.rule.min || value > this.rule.max) {
      this.outOfRange += 1;
      if (!(value >= 0 && value <= 100)) this.allOutOfRangeWithin100 = false;
      this.problems.note('out_of_range', position, `${this.where.value(position)}: ${written}`);
      return Number.NaN;
    }
    if (this.valid === 0) this.firstValid = value;
    else if (value !== this.firstValid) this.varied = true;
    this.valid += 1;
    return value;
  }
}

const ID_SHAPE = 'ids are 1–64 characters from A–Z a–z 0–9 _ . -';
const PLAIN_DECIMALS = 'write plain decimals such as 0.25 or 2.5e-1';

export const describeInvalidIds: Describe = (count, examples) =>
  count === 1
    ? `${examples[0]} is not a valid id; ${ID_SHAPE}`
    : `${plural(count, 'id is', 'ids are')} not valid (${ID_SHAPE}): ${listed(examples, count)}`;

/** Messages for the codes the aligner notes, worded for one kind of value. */
export function alignerMessages(
  rule: ValueRule,
  era: number | undefined,
  aligner?: Pick<UniverseAligner, 'looksLikePercentages'>,
): Partial<Record<BodyProblemCode, Describe>> {
  const universe = era === undefined ? "the era's universe" : `era ${era}'s universe`;
  const wanted = `every ${rule.noun} must be a number in ${rule.rangeLabel}`;
  const percentages = aligner?.looksLikePercentages === true;
  const percentOne = percentages ? '; it looks like a percentage: divide every value by 100' : '';
  const percentMany = percentages ? '; they look like percentages: divide every value by 100' : '';
  return {
    invalid_id: describeInvalidIds,
    unknown_ids: (count, examples) => `${plural(count, 'id is', 'ids are')} not in ${universe}: ${listed(examples, count, ', ')}`,
    non_numeric: (count, examples) =>
      count === 1
        ? `${examples[0]} is not a number; ${PLAIN_DECIMALS}`
        : `${plural(count, 'value is not a number', 'values are not numbers')} (${PLAIN_DECIMALS}): ${listed(examples, count)}`,
    not_finite: (count, examples) =>
      count === 1
        ? `${examples[0]} is not a finite number; ${wanted}`
        : `${plural(count, 'value is not a finite number', 'values are not finite numbers')} (${wanted}): ${listed(examples, count)}`,
    out_of_range: (count, examples) =>
      count === 1
        ? `${examples[0]} is outside ${rule.rangeLabel}; ${wanted}${percentOne}`
        : `${plural(count, 'value is', 'values are')} outside ${rule.rangeLabel}${percentMany}: ${listed(examples, count)}`,
  };
}

/** A JSON value as a message shows it: `"0.5" (a string)`, `null`, `an object`. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `${quoted(value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${String(value)} (a ${typeof value})`;
  return Array.isArray(value) ? 'an array' : 'an object';
}
