import { z } from 'zod';
import { LIVE_ID_PATTERN, type UniverseRow } from '../domain/universe.js';
import { describeInvalidIds, describeJson } from './aligned.js';
import { readCsv } from './csv.js';
import { INDEX_COLUMN, type IngestBody, emptyBody, isRecord } from './id-value.js';
import { parseDecimal } from './number.js';
import { type BodyProblem, type BodyProblemCode, type Describe, ProblemCollector, RepeatedIds, listed, plural, quoted, quotedList } from './problems.js';
import { nameRecord } from '../domain/records.js';

/** The columns with a meaning of their own; any other column is an attribute. */
const KNOWN_COLUMNS = ['sector', 'industry', 'country', 'tags'] as const;
type KnownColumn = (typeof KNOWN_COLUMNS)[number];
const EXAMPLE_HEADER = 'id,sector,industry,country,tags';
const ATTRIBUTE_NAME = /^[A-Za-z0-9_]{1,64}$/;
const ATTRIBUTE_SHAPE = '1–64 characters of A–Z a–z 0–9 _ (a JSON body cannot carry __proto__: send that one as CSV)';
const INDEX_HINT = 'it looks like the index pandas writes: save with to_csv(index=False)';

/** Any name of the pattern, `__proto__` and `constructor` included: attributes are null-prototype records. */
function isAttributeName(name: string): boolean {
  return ATTRIBUTE_NAME.test(name);
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
 * An era's universe from CSV whose header names its columns (`id` required; sector, industry,
 * country and tags optional, in any order; any other column an attribute) or JSON `{rows: [...]}`. Cells are trimmed (ids excepted: they must already match the pattern);
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

/** Where each column of a universe CSV is; every column but `id` is optional. */
interface UniverseColumns {
  id: number;
  known: Partial<Record<KnownColumn, number>>;
  attributes: { name: string; index: number }[];
}

function readUniverseCsv(text: string, problems: ProblemCollector): Located[] {
  const located: Located[] = [];
  let columns: UniverseColumns | undefined;
  let width = 0;
  readCsv(text, {
    row(fields, line) {
      if (width === 0) {
        width = fields.length;
        columns = universeColumns(fields, line, problems);
      } else if (columns !== undefined) {
        if (fields.length === width) located.push({ row: universeRowFromCells(fields, columns, line, problems), position: line });
        else problems.note('bad_row', line, `line ${line} has ${plural(fields.length, 'field', 'fields')}, expected ${width}`);
      }
    },
    malformed(line, reason) {
      if (width === 0) {
        width = -1;
        problems.add({ code: 'missing_header', message: `line ${line}: the header is malformed: ${reason}`, lines: [line], count: 1 });
      } else if (columns !== undefined) problems.note('bad_row', line, `line ${line}: ${reason}`);
    },
  });
  if (width === 0) {
    problems.add(emptyBody(`the body is empty; send a header naming the columns (such as ${EXAMPLE_HEADER}[,<attribute>…]) and one row per live id`));
  } else if (columns !== undefined && located.length === 0 && !problems.has('bad_row')) {
    problems.add(emptyBody('the universe has a header but no rows; add one row per live id'));
  }
  return located;
}

/**
 * Reads the header: `id` is required; sector, industry, country and tags are optional and in
 * any order; every other column is an attribute. Undefined when the rows cannot be read (no
 * `id` column); other faults are reported and the rows still checked.
 */
function universeColumns(fields: readonly string[], line: number, problems: ProblemCollector): UniverseColumns | undefined {
  const names = fields.map((field) => field.trim());
  const header = (problem: Omit<BodyProblem, 'lines'>) => problems.add({ ...problem, lines: [line] });
  const id = names.indexOf('id');
  if (id < 0) {
    const found = `found ${quoted(names.join(','), 80)}${headerHint(names)}`;
    header({
      code: 'missing_header',
      message: `the first line must be a header with an "id" column (sector, industry, country, tags and attribute columns are optional, in any order, such as ${EXAMPLE_HEADER}); ${found}`,
      count: 1,
    });
    return undefined;
  }
  const unnamed = names.flatMap((name, i) => (name === '' || (i === 0 && INDEX_COLUMN.test(name)) ? [i + 1] : []));
  if (unnamed.length > 0) {
    const which = unnamed.length === 1 ? `column ${unnamed[0]} has` : `columns ${unnamed.join(', ')} have`;
    const hint = unnamed[0] === 1 && id > 0 ? `; ${INDEX_HINT}` : names.at(-1) === '' ? ' (a trailing comma makes an unnamed last column)' : '';
    const index = names[0] === '' ? '' : ` (${quoted(names[0])})`;
    header({ code: 'unnamed_columns', message: `${which} no name${unnamed[0] === 1 ? index : ''}${hint}; every column needs a name`, count: unnamed.length });
  }
  const repeated = [...new Set(names.filter((name, i) => name !== '' && names.indexOf(name) !== i))];
  if (repeated.length > 0) {
    header({
      code: 'duplicate_columns',
      message: `${plural(repeated.length, 'column name appears', 'column names appear')} more than once in the header: ${quotedList(repeated)}`,
      count: repeated.length,
    });
  }
  const columns: UniverseColumns = { id, known: {}, attributes: [] };
  const invalid = new Set<string>();
  names.forEach((name, index) => {
    if (index === id || name === '' || unnamed.includes(index + 1) || names.indexOf(name) !== index) return;
    if ((KNOWN_COLUMNS as readonly string[]).includes(name)) columns.known[name as KnownColumn] = index;
    else if (isAttributeName(name)) columns.attributes.push({ name, index });
    else invalid.add(name);
  });
  if (invalid.size > 0) {
    header({
      code: 'invalid_attribute_name',
      message: `${plural(invalid.size, 'attribute column name is', 'attribute column names are')} not ${ATTRIBUTE_SHAPE}: ${quotedList([...invalid])}`,
      count: invalid.size,
    });
  }
  return columns;
}

function headerHint(names: readonly string[]): string {
  if (names.some((name) => name.toLowerCase() === 'id')) return ' (column names are case-sensitive)';
  if (names.length === 1 && /[;\t|]/.test(names[0])) {
    return ` (that looks ${names[0].includes(';') ? '";"' : 'tab or "|"'}-separated: separate columns with commas; ";" separates the tags inside the tags column)`;
  }
  return '';
}

function universeRowFromCells(fields: readonly string[], columns: UniverseColumns, line: number, problems: ProblemCollector): UniverseRow {
  const attributes = nameRecord<number | string>();
  for (const { name, index } of columns.attributes) {
    const cell = fields[index].trim();
    if (cell === '') continue;
    const number = parseDecimal(cell);
    if (Number.isNaN(number)) attributes[name] = cell;
    else if (Number.isFinite(number)) attributes[name] = number;
    else problems.note('not_finite', line, `line ${line}, ${name}: ${quoted(cell)}`);
  }
  const cell = (column: KnownColumn) => {
    const index = columns.known[column];
    return index === undefined ? undefined : fields[index];
  };
  return {
    id: fields[columns.id],
    sector: textOrNull(cell('sector')),
    industry: textOrNull(cell('industry')),
    country: textOrNull(cell('country')),
    tags: tagList((cell('tags') ?? '').split(';')),
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
  const attributes = nameRecord<number | string>();
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
