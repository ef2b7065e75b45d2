/** What kind of fault a body has; one problem per code, listing its offenders. */
export type BodyProblemCode =
  | 'empty_body'
  | 'invalid_json'
  | 'duplicate_keys'
  | 'too_many_columns'
  | 'missing_header'
  | 'extra_columns'
  | 'invalid_shape'
  | 'length_mismatch'
  | 'bad_row'
  | 'invalid_id'
  | 'unknown_ids'
  | 'duplicate_ids'
  | 'invalid_attribute_name'
  | 'invalid_target_name'
  | 'duplicate_columns'
  | 'unnamed_columns'
  | 'non_numeric'
  | 'not_finite'
  | 'out_of_range'
  | 'constant_predictions'
  | 'constant_target'
  | 'insufficient_coverage';

/**
 * One reason a body was rejected. `count` is how many offenders there are — rows for row
 * faults, distinct ids for `unknown_ids`/`duplicate_ids`, missing ids for
 * `insufficient_coverage`, columns for `extra_columns`, unpaired entries for
 * `length_mismatch`, 1 for other body-wide faults — and the lists hold the first 20.
 * `lines` are 1-based CSV lines counting the header; `indexes` are 0-based JSON array positions.
 */
export interface BodyProblem {
  code: BodyProblemCode;
  message: string;
  ids?: string[];
  lines?: number[];
  indexes?: number[];
  /** The column at fault, for bodies of several value columns (a multi-target upload). */
  column?: string;
  count: number;
}

/** The one error for a body that cannot be accepted; the HTTP layer renders `problems`. */
export class InvalidBodyError extends Error {
  constructor(
    public readonly problems: BodyProblem[],
    public readonly status = 400,
  ) {
    super(problems.map((problem) => problem.message).join('; '));
    this.name = 'InvalidBodyError';
  }
}

export const LIST_LIMIT = 20;

export function firstN<T>(list: readonly T[], n: number = LIST_LIMIT): T[] {
  return list.slice(0, n);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** A user-supplied string as it appears in a message: quoted, escaped, cut short. */
export function quoted(text: string, max = 40): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/** `"a", "b"` — names as a message lists them. */
export function quotedList(names: readonly string[]): string {
  return names.map((name) => quoted(name)).join(', ');
}

/** `a; b; c; … and 480 more` — the examples kept plus how many were left out. */
export function listed(examples: readonly string[], count: number, separator = '; '): string {
  const rest = count - examples.length;
  const more = rest > 0 ? `${separator}… and ${formatCount(rest)} more` : '';
  return examples.join(separator) + more;
}

/** Words a tally: how many offenders and the first examples (`line 7: "abc"`). */
export type Describe = (count: number, examples: readonly string[]) => string;

interface Tally {
  count: number;
  examples: string[];
  positions: number[];
  ids: string[];
}

/** Problems come out in this order whatever order the rows raised them. */
const CODE_ORDER: readonly BodyProblemCode[] = [
  'empty_body',
  'invalid_json',
  'too_many_columns',
  'duplicate_keys',
  'invalid_shape',
  'missing_header',
  'extra_columns',
  'duplicate_columns',
  'unnamed_columns',
  'invalid_attribute_name',
  'invalid_target_name',
  'length_mismatch',
  'bad_row',
  'invalid_id',
  'unknown_ids',
  'duplicate_ids',
  'non_numeric',
  'not_finite',
  'out_of_range',
  'constant_predictions',
  'constant_target',
  'insufficient_coverage',
];

/**
 * Gathers every fault of a body before rejecting it, so one response tells the user all
 * there is to fix. Row faults are tallied per code and turned into one problem each.
 */
export class ProblemCollector {
  private readonly tallies = new Map<BodyProblemCode, Tally>();
  private readonly whole: BodyProblem[] = [];

  constructor(private readonly positionKind: 'lines' | 'indexes') {}

  /** One offending row at `position` (a CSV line or a JSON index). */
  note(code: BodyProblemCode, position: number, example: string, id?: string): void {
    const tally = this.tallyOf(code);
    tally.count += 1;
    if (tally.examples.length < LIST_LIMIT) {
      tally.examples.push(example);
      tally.positions.push(position);
    }
    if (id !== undefined && tally.ids.length < LIST_LIMIT) tally.ids.push(id);
  }

  add(problem: BodyProblem): void {
    this.whole.push(problem);
  }

  has(code: BodyProblemCode): boolean {
    return this.tallies.has(code) || this.whole.some((problem) => problem.code === code);
  }

  get isEmpty(): boolean {
    return this.tallies.size === 0 && this.whole.length === 0;
  }

  /** Throws every collected problem, worded by `describe`, unless there are none. */
  throwIfAny(describe: Partial<Record<BodyProblemCode, Describe>>): void {
    if (this.isEmpty) return;
    throw new InvalidBodyError(this.problems(describe));
  }

  /** Every collected problem, worded by `describe`, in the order of their codes. */
  problems(describe: Partial<Record<BodyProblemCode, Describe>>): BodyProblem[] {
    const problems = [...this.whole];
    for (const [code, tally] of this.tallies) {
      problems.push(this.toProblem(code, tally, describe[code] ?? describeGeneric));
    }
    return sortProblems(problems);
  }

  private toProblem(code: BodyProblemCode, tally: Tally, describe: Describe): BodyProblem {
    const problem: BodyProblem = {
      code,
      message: describe(tally.count, tally.examples),
      count: tally.count,
    };
    problem[this.positionKind] = tally.positions;
    if (tally.ids.length > 0) problem.ids = tally.ids;
    return problem;
  }

  private tallyOf(code: BodyProblemCode): Tally {
    let tally = this.tallies.get(code);
    if (tally === undefined) {
      tally = { count: 0, examples: [], positions: [], ids: [] };
      this.tallies.set(code, tally);
    }
    return tally;
  }
}

/** Problems in the order of their codes (stable within a code). */
export function sortProblems(problems: BodyProblem[]): BodyProblem[] {
  return problems.sort((a, b) => CODE_ORDER.indexOf(a.code) - CODE_ORDER.indexOf(b.code));
}

function describeGeneric(count: number, examples: readonly string[]): string {
  return count === 1 ? examples[0] : `${plural(count, 'row is', 'rows are')} invalid: ${listed(examples, count)}`;
}

/**
 * Rows that repeat an id seen earlier in the body: reported as the distinct ids (each once)
 * and the positions of the repeats, which are the rows to delete.
 */
export class RepeatedIds {
  private readonly ids: string[] = [];
  private readonly positions: number[] = [];
  private repeats = 0;

  /** `firstRepeat` is true the first time this id comes back. */
  note(id: string, position: number, firstRepeat: boolean): void {
    if (firstRepeat) this.ids.push(id);
    this.repeats += 1;
    if (this.positions.length < LIST_LIMIT) this.positions.push(position);
  }

  report(problems: ProblemCollector, kind: 'lines' | 'indexes', where: (position: number) => string): void {
    if (this.ids.length === 0) return;
    const ids = firstN(this.ids);
    const repeated = `${plural(this.ids.length, 'id appears', 'ids appear')} more than once: ${listed(ids, this.ids.length, ', ')}`;
    problems.add({
      code: 'duplicate_ids',
      message: `${repeated}; remove the repeats at ${listed(this.positions.map(where), this.repeats, ', ')}`,
      ids,
      [kind]: this.positions,
      count: this.ids.length,
    });
  }
}
