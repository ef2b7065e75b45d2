import { LIVE_ID_PATTERN } from '../domain/universe.js';
import { CSV_LOCATOR, type LiveUniverse, UniverseAligner, type ValueRule, columnsLocator, describeJson } from './aligned.js';
import { readCsv } from './csv.js';
import { parseDecimal } from './number.js';
import { type BodyProblem, type Describe, type ProblemCollector, formatCount, listed, plural, quoted, quotedList } from './problems.js';

/** The index column pandas' to_csv writes unless told index=False: no name, or "Unnamed: 0" read back. */
export const INDEX_COLUMN = /^(|Unnamed: ?\d+)$/;

/** A request body as the HTTP layer hands it over. */
export type IngestBody = { kind: 'csv'; text: string } | { kind: 'json'; value: unknown };

/** The two-column tables this module reads: `id,<value column>`. */
export interface IdValueLayout {
  /** What the body is, for messages: "a submission". */
  readonly body: string;
  /** Accepted names of the second CSV column; the first is the canonical one. */
  readonly valueColumns: readonly string[];
  /** The values array of the `{"ids": [...], "<key>": [...]}` JSON shape. */
  readonly valuesKey: string;
  /** JSON shapes accepted besides `{"ids": [...], "<valuesKey>": [...]}`, for messages. */
  readonly otherJsonShapes?: readonly string[];
  readonly rule: ValueRule;
}

/**
 * Reads `id,<value>` CSV into an aligner. Header names are trimmed and case-sensitive
 * (like the reference, which compares column names exactly); cells are taken as written.
 */
export function alignIdValueCsv(
  text: string,
  universe: LiveUniverse,
  layout: IdValueLayout,
  problems: ProblemCollector,
): UniverseAligner | undefined {
  const aligner = new UniverseAligner(universe, problems, layout.rule, CSV_LOCATOR);
  let width = 0;
  let usable = false;
  let dataRows = 0;
  readCsv(text, {
    row(fields, line) {
      if (width === 0) {
        width = fields.length;
        usable = checkHeader(fields, line, layout, problems);
      } else if (usable) {
        dataRows += 1;
        // Rows of two fields are right even under a header with extra columns (reported once, there).
        if (fields.length === 2 || fields.length === width) aligner.addText(fields[0], fields[1], line);
        else problems.note('bad_row', line, `line ${line} has ${plural(fields.length, 'field', 'fields')}, expected 2`);
      }
    },
    malformed(line, reason) {
      if (width === 0) {
        width = -1;
        problems.add({ code: 'missing_header', message: `line ${line}: the header is malformed: ${reason}`, lines: [line], count: 1 });
      } else if (usable) {
        dataRows += 1;
        problems.note('bad_row', line, `line ${line}: ${reason}`);
      }
    },
  });
  if (width === 0) {
    problems.add(emptyBody(`the body is empty; send the header ${headerText(layout)} and one row per id`));
  } else if (usable && dataRows === 0) {
    problems.add(emptyBody(`the body has a header but no rows; add one row per id under ${headerText(layout)}`));
  }
  return usable ? aligner : undefined;
}

/** Reads the `{"ids": [...], "<valuesKey>": [...]}` JSON shape into an aligner. */
export function alignIdValueColumns(
  body: Record<string, unknown>,
  universe: LiveUniverse,
  layout: IdValueLayout,
  problems: ProblemCollector,
): UniverseAligner | undefined {
  const { valuesKey } = layout;
  const unexpected = Object.keys(body).filter((key) => key !== 'ids' && key !== valuesKey);
  if (unexpected.length > 0) {
    problems.add(invalidShape(`unexpected ${unexpected.length === 1 ? 'key' : 'keys'} ${quotedList(unexpected)}`, layout));
  }
  const { ids } = body;
  const values = body[valuesKey];
  if (!Array.isArray(ids) || !Array.isArray(values)) {
    const wrong = Array.isArray(ids) ? valuesKey : 'ids';
    problems.add(invalidShape(`"${wrong}" must be an array, got ${describeJson(body[wrong])}`, layout));
    return undefined;
  }
  if (ids.length !== values.length) {
    const lengths = `"ids" has ${plural(ids.length, 'entry', 'entries')} but "${valuesKey}" has ${formatCount(values.length)}`;
    problems.add({
      code: 'length_mismatch',
      message: `${lengths}; they must pair up one to one`,
      count: Math.abs(ids.length - values.length),
    });
  }
  if (ids.length === 0 && values.length === 0) problems.add(emptyBody(`the body has no ${layout.rule.noun}s`));
  const aligner = new UniverseAligner(universe, problems, layout.rule, columnsLocator(valuesKey));
  const paired = Math.min(ids.length, values.length);
  for (let index = 0; index < paired; index += 1) aligner.addJson(ids[index], values[index], index);
  return aligner;
}

/** Messages for the structural codes of id/value bodies. */
export function structureMessages(layout: IdValueLayout): Partial<Record<'bad_row', Describe>> {
  const rowShape = `every row is ${headerText(layout)}`;
  return {
    bad_row: (count, examples) =>
      count === 1
        ? `${examples[0]}; ${rowShape}`
        : `${plural(count, 'row is', 'rows are')} malformed (${rowShape}): ${listed(examples, count)}`,
  };
}

export function invalidShape(detail: string, layout: IdValueLayout): BodyProblem {
  const shapes = [`{"ids": [...], "${layout.valuesKey}": [...]}`, ...(layout.otherJsonShapes ?? [])].join(' or ');
  return { code: 'invalid_shape', message: `${detail}; ${layout.body} in JSON is ${shapes}`, count: 1 };
}

export function emptyBody(message: string): BodyProblem {
  return { code: 'empty_body', message, count: 1 };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkHeader(fields: readonly string[], line: number, layout: IdValueLayout, problems: ProblemCollector): boolean {
  const names = fields.map((field) => field.trim());
  if (names[0] !== 'id' || !layout.valueColumns.includes(names[1])) {
    problems.add({ code: 'missing_header', message: missingHeaderMessage(names, layout), lines: [line], count: 1 });
    return false;
  }
  if (names.length > 2) {
    const extra = names.slice(2);
    const columns = `${extra.length === 1 ? 'extra column' : `${extra.length} extra columns`} ${quotedList(extra)}`;
    const emptyHint = extra.includes('') ? ' (an unnamed column usually comes from a trailing comma)' : '';
    problems.add({
      code: 'extra_columns',
      message: `remove the ${columns}${emptyHint}; ${layout.body} has exactly the columns ${headerText(layout)}`,
      lines: [line],
      count: extra.length,
    });
  }
  return true;
}

function missingHeaderMessage(names: readonly string[], layout: IdValueLayout): string {
  const expected = layout.valueColumns.map((column) => `"id,${column}"`).join(' or ');
  return `the first line must be the header ${expected}; found ${quoted(names.join(','), 80)}${headerHint(names, layout)}`;
}

function headerHint(names: readonly string[], layout: IdValueLayout): string {
  const lower = names.map((name) => name.toLowerCase());
  if (lower[0] === 'id' && layout.valueColumns.includes(lower[1])) return ' (column names are case-sensitive)';
  if (lower[1] === 'id' && layout.valueColumns.includes(lower[0])) return ' (the id column comes first)';
  if (names.length === 1 && /[;\t|]/.test(names[0])) {
    return ` (that looks ${names[0].includes(';') ? '";"' : 'tab or "|"'}-separated: separate columns with commas)`;
  }
  if (INDEX_COLUMN.test(names[0]) && names[1] === 'id') return ` (the first column looks like the index pandas writes: save with to_csv(index=False))`;
  if (names.some((name) => name.includes('\r'))) return ' (end lines with \\n or \\r\\n)';
  if (names.length >= 2 && LIVE_ID_PATTERN.test(names[0]) && !Number.isNaN(parseDecimal(names[1]))) {
    return ' (that looks like a data row: put the header line first)';
  }
  return '';
}

function headerText(layout: IdValueLayout): string {
  return `id,${layout.valueColumns[0]}`;
}
