import { z } from 'zod';
import { LIVE_ID_PATTERN, type UniverseRow } from '../domain/universe.js';
import { describeInvalidIds, describeJson } from './aligned.js';
import { readCsv } from './csv.js';
import { type IngestBody, emptyBody, isRecord } from './id-value.js';
import { parseDecimal } from './number.js';
import { type BodyProblemCode, type Describe, ProblemCollector, RepeatedIds, listed, plural, quoted, quotedList } from './problems.js';

const FIXED_COLUMNS = ['id', 'sector', 'industry', 'country', 'tags'] as const;
const FIXED_HEADER = FIXED_COLUMNS.join(',');
const ATTRIBUTE_NAME = /^[A-Za-z0-9_]{1,64}$/;
const ATTRIBUTE_SHAPE = '1–64 characters of A–Z a–z 0–9 _, other than __proto__';

/** `__proto__` fits the pattern but cannot be an own key of a plain object, so it would vanish. */
function isAttributeName(name: string): boolean {
  return ATTRIBUTE_NAME.test(name) && name !== '__proto__';
}
const JSON_SHAPE = '{"rows": [{"id": "...", "sector": "...", "industry": "...", "country": "...", "tags": [...], "attributes": {...}}]}';

const NULLABLE_TEXT = z.string({ error: 'expected a string or null' }).nullable().optional();

const UniverseRowJson = z.strictObject(
  {
    id: z.string({ error: 'expected a string' }),
    sector: NULLABLE_TEXT,
    industry: NULLABLE_TEXT,
    country: NULLABLE_TEXT,
    tags: z.array(z.string({ error: 'expected a string' }), { error: 'expected an array of strings' }).optional(),
    attributes: z
      .record(
        z.string().regex(ATTRIBUTE_NAME),
        z.union([z.number(), z.string()], { error: 'expected a finite number or a string' }),
        { error: 'expected an object of attributes' },
      )
      .optional(),
  },
  { error: 'expected an object' },
);

type UniverseRowInput = z.infer<typeof UniverseRowJson>;

const UNIVERSE_MESSAGES: Partial<Record<BodyProblemCode, Describe>> = {
  invalid_id: describeInvalidIds,
  bad_row: (count, examples) =>
    count === 1 ? examples[0] : `${plural(count, 'row is', 'rows are')} malformed: ${listed(examples, count)}`,
  invalid_attribute_name: (count, examples) =>
    `${plural(count, 'attribute name is', 'attribute names are')} not ${ATTRIBUTE_SHAPE}: ${listed(examples, count)}`,
  not_finite: (count, examples) =>
    `${plural(count, 'attribute value is', 'attribute values are')} too large for a float64: ${listed(examples, count)}`,
};

/** A parsed row and where it was in the body (CSV line or JSON index). */
interface Located {
  row: UniverseRow;
  position: number;
}

/**
 * An era's universe from CSV `id,sector,industry,country,tags,<attribute>…` or JSON
 * `{rows: [...]}`. Cells are trimmed (ids excepted: they must already match the pattern);
 * empty cells become null, [] or an absent attribute; `tags` are `;`-separated. A CSV
 * attribute that is a strict decimal becomes a number, anything else stays a string.
 */
export function parseUniverse(body: IngestBody): UniverseRow[] {
  const problems = new ProblemCollector(body.kind === 'csv' ? 'lines' : 'indexes');
  const located = body.kind === 'csv' ? readUniverseCsv(body.text, problems) : readUniverseJson(body.value, problems);
  if (body.kind === 'csv') checkIds(located, problems, 'lines', (line) => `line ${line}`);
  else checkIds(located, problems, 'indexes', (index) => `rows[${index}].id`);
  problems.throwIfAny(UNIVERSE_MESSAGES);
  return located.map(({ row }) => row);
}

function readUniverseCsv(text: string, problems: ProblemCollector): Located[] {
  const located: Located[] = [];
  let attributes: string[] | undefined;
  let width = 0;
  readCsv(text, {
    row(fields, line) {
      if (width === 0) {
        width = fields.length;
        attributes = attributeColumns(fields, line, problems);
      } else if (attributes !== undefined) {
        if (fields.length === width) located.push({ row: universeRowFromCells(fields, attributes, line, problems), position: line });
        else problems.note('bad_row', line, `line ${line} has ${plural(fields.length, 'field', 'fields')}, expected ${width}`);
      }
    },
    malformed(line, reason) {
      if (width === 0) {
        width = -1;
        problems.add({ code: 'missing_header', message: `line ${line}: the header is malformed: ${reason}`, lines: [line], count: 1 });
      } else if (attributes !== undefined) problems.note('bad_row', line, `line ${line}: ${reason}`);
    },
  });
  if (width === 0) problems.add(emptyBody(`the body is empty; send the header ${FIXED_HEADER}[,<attribute>…] and one row per live id`));
  else if (attributes !== undefined && located.length === 0 && !problems.has('bad_row')) {
    problems.add(emptyBody('the universe has a header but no rows; add one row per live id'));
  }
  return located;
}

/**
 * The attribute column names after the five fixed ones, or undefined if the fixed ones are
 * wrong; bad attribute names are reported but the rows are still checked.
 */
function attributeColumns(fields: readonly string[], line: number, problems: ProblemCollector): string[] | undefined {
  const names = fields.map((field) => field.trim());
  if (FIXED_COLUMNS.some((column, i) => names[i] !== column)) {
    const caseHint = FIXED_COLUMNS.every((column, i) => names[i]?.toLowerCase() === column) ? ' (column names are case-sensitive)' : '';
    const found = `found ${quoted(names.join(','), 80)}${caseHint}`;
    problems.add({
      code: 'missing_header',
      message: `the first line must be the header ${FIXED_HEADER} followed by any attribute columns; ${found}`,
      lines: [line],
      count: 1,
    });
    return undefined;
  }
  const attributes = names.slice(FIXED_COLUMNS.length);
  const invalid = [...new Set(attributes.filter((name) => !isAttributeName(name)))];
  if (invalid.length > 0) {
    problems.add({
      code: 'invalid_attribute_name',
      message: `${plural(invalid.length, 'attribute column name is', 'attribute column names are')} not ${ATTRIBUTE_SHAPE}: ${quotedList(invalid)}`,
      lines: [line],
      count: invalid.length,
    });
  }
  const repeated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
  if (repeated.length > 0) {
    problems.add({
      code: 'duplicate_columns',
      message: `${plural(repeated.length, 'column name appears', 'column names appear')} more than once in the header: ${quotedList(repeated)}`,
      lines: [line],
      count: repeated.length,
    });
  }
  return attributes;
}

function universeRowFromCells(
  fields: readonly string[],
  attributeNames: readonly string[],
  line: number,
  problems: ProblemCollector,
): UniverseRow {
  const attributes: Record<string, number | string> = {};
  attributeNames.forEach((name, i) => {
    const cell = fields[FIXED_COLUMNS.length + i].trim();
    if (cell === '') return;
    const number = parseDecimal(cell);
    if (Number.isNaN(number)) attributes[name] = cell;
    else if (Number.isFinite(number)) attributes[name] = number;
    else problems.note('not_finite', line, `line ${line}, ${name}: ${quoted(cell)}`);
  });
  return {
    id: fields[0],
    sector: textOrNull(fields[1]),
    industry: textOrNull(fields[2]),
    country: textOrNull(fields[3]),
    tags: tagList(fields[4].split(';')),
    attributes,
  };
}

function readUniverseJson(value: unknown, problems: ProblemCollector): Located[] {
  if (!isRecord(value) || !Array.isArray(value.rows)) {
    const got = isRecord(value) ? `"rows" is ${describeJson(value.rows)}` : `the body is ${describeJson(value)}`;
    problems.add({ code: 'invalid_shape', message: `${got}; a universe in JSON is ${JSON_SHAPE}`, count: 1 });
    return [];
  }
  const unexpected = Object.keys(value).filter((key) => key !== 'rows');
  if (unexpected.length > 0) {
    const message = `unexpected key ${quoted(unexpected[0])} next to "rows"; a universe in JSON is ${JSON_SHAPE}`;
    problems.add({ code: 'invalid_shape', message, count: 1 });
  }
  if (value.rows.length === 0) problems.add(emptyBody('the universe has no rows; add one row per live id'));
  const located: Located[] = [];
  value.rows.forEach((input: unknown, index) => {
    const parsed = UniverseRowJson.safeParse(input);
    // zod drops a `__proto__` key without a word; it must be refused like any bad name.
    if (hasProtoAttribute(input)) problems.note('invalid_attribute_name', index, `rows[${index}].attributes: "__proto__"`);
    else if (parsed.success) located.push({ row: universeRowFromJson(parsed.data), position: index });
    if (!parsed.success) noteJsonIssues(parsed.error.issues, input, index, problems);
  });
  return located;
}

/** One note per faulty row (its shape faults joined), except ids and attribute names. */
function noteJsonIssues(issues: readonly z.core.$ZodIssue[], input: unknown, index: number, problems: ProblemCollector): void {
  const faults: string[] = [];
  for (const issue of issues) {
    const [field, key] = issue.path;
    const at = jsonPath(index, issue.path);
    if (issue.code === 'invalid_key' && field === 'attributes') {
      problems.note('invalid_attribute_name', index, `rows[${index}].attributes: ${quoted(String(key))}`);
    } else if (field === 'id' && issue.path.length === 1) {
      problems.note('invalid_id', index, `${at}: ${describeJson(isRecord(input) ? input.id : undefined)}`);
    } else if (issue.code === 'unrecognized_keys') {
      faults.push(`${at}: unexpected ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => quoted(k)).join(', ')}`);
    } else {
      faults.push(`${at}: ${issue.message}`);
    }
  }
  if (faults.length > 0) problems.note('bad_row', index, faults.join(', '));
}

function hasProtoAttribute(input: unknown): boolean {
  return isRecord(input) && isRecord(input.attributes) && Object.hasOwn(input.attributes, '__proto__');
}

function jsonPath(index: number, path: readonly PropertyKey[]): string {
  return `rows[${index}]${path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('')}`;
}

function universeRowFromJson(input: UniverseRowInput): UniverseRow {
  const attributes: Record<string, number | string> = {};
  for (const [name, value] of Object.entries(input.attributes ?? {})) {
    const kept = typeof value === 'string' ? value.trim() : value;
    if (kept !== '') attributes[name] = kept;
  }
  return {
    id: input.id,
    sector: textOrNull(input.sector),
    industry: textOrNull(input.industry),
    country: textOrNull(input.country),
    tags: tagList(input.tags ?? []),
    attributes,
  };
}

function textOrNull(text: string | null | undefined): string | null {
  const trimmed = text?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
}

/** Trimmed, without empties or repeats, in first-seen order. */
function tagList(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag !== ''))];
}

function checkIds(
  located: readonly Located[],
  problems: ProblemCollector,
  kind: 'lines' | 'indexes',
  where: (position: number) => string,
): void {
  const seen = new Map<string, boolean>();
  const repeated = new RepeatedIds();
  for (const { row, position } of located) {
    if (!LIVE_ID_PATTERN.test(row.id)) {
      problems.note('invalid_id', position, `${where(position)}: ${quoted(row.id)}`);
      continue;
    }
    const repeatedBefore = seen.get(row.id);
    if (repeatedBefore === undefined) seen.set(row.id, false);
    else {
      repeated.note(row.id, position, !repeatedBefore);
      seen.set(row.id, true);
    }
  }
  repeated.report(problems, kind, where);
}
