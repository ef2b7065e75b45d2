import { CSV_LOCATOR, type LiveUniverse, UniverseAligner, alignerMessages, columnsLocator, describeJson } from './aligned.js';
import { readCsv } from './csv.js';
import { emptyBody, isRecord, structureMessages } from './id-value.js';
import { TARGET_NAME, TARGET_NAME_SHAPE } from '../domain/names.js';
import { type BodyProblem, type BodyProblemCode, InvalidBodyError, ProblemCollector, formatCount, listed, plural, quoted, quotedList, sortProblems } from './problems.js';
import {
  DEFAULT_MAX_COLUMNS,
  type ParsedTarget,
  TARGET,
  type TargetBody,
  type TargetOptions,
  type TargetParseOptions,
  type TargetText,
  jsonValue,
  mainTargetProblems,
  parseTarget,
  tooManyColumns,
} from './target.js';

/**
 * Uploads of several targets at once (CSV `id,<name>,<name>…` or JSON `{ids, targets}`), each
 * column checked as one target upload is (target.ts), and the entry point a worker calls.
 */

/** The one place a target upload's text becomes its aligned columns (throws InvalidBodyError). */
export function parseTargetText(body: TargetText, universe: LiveUniverse, options: TargetParseOptions): ParsedNamedTarget[] {
  const { name, ...rest } = options;
  if (name === undefined) return parseTargets(body, universe, rest);
  return [{ name, ...parseTarget(body, universe, options) }];
}

/** One column of a multi-target upload. */
export interface ParsedNamedTarget extends ParsedTarget {
  name: string;
}

const MULTI_JSON_SHAPE = '{"ids": [...], "targets": {"<name>": [...], ...}}';
/** Problems about the values of one column; every other problem is about the rows, the same in every column. */
const VALUE_CODES: ReadonlySet<BodyProblemCode> = new Set(['non_numeric', 'not_finite', 'out_of_range']);

/**
 * Validates several targets of an era at once: CSV `id,<name>,<name>…` or JSON
 * `{ids, targets: {name: [values]}}`. Each column is checked as one target upload is; a
 * problem with its values names the column, a problem with the ids or rows is reported once.
 */
export function parseTargets(body: TargetBody, universe: LiveUniverse, opts: TargetOptions = {}): ParsedNamedTarget[] {
  const problems: BodyProblem[] = [];
  const max = opts.maxColumns ?? DEFAULT_MAX_COLUMNS;
  const columns =
    body.kind === 'csv' ? readTargetsCsv(body.text, universe, problems, max) : readTargetsJson(jsonValue(body, max), universe, problems, max);
  const messages = { ...alignerMessages(TARGET.rule, opts.era), ...structureMessages(TARGET) };
  columns.forEach(({ name, aligner, collector }, j) => {
    aligner.finish();
    for (const problem of collector.problems(messages)) {
      if (VALUE_CODES.has(problem.code)) problems.push({ ...problem, column: name, message: body.kind === 'csv' ? `column "${name}": ${problem.message}` : problem.message });
      else if (j === 0) problems.push(problem);
    }
  });
  if (problems.length === 0) {
    const main = columns.find(({ name }) => name === opts.mainTarget);
    if (main) problems.push(...mainTargetProblems(main.name, main.aligner.aligned, opts.era));
  }
  if (problems.length > 0) throw new InvalidBodyError(sortProblems(problems));
  return columns.map(({ name, aligner }) => ({ name, aligned: aligner.aligned, count: aligner.rows }));
}

interface Column {
  name: string;
  aligner: UniverseAligner;
  collector: ProblemCollector;
}

function readTargetsCsv(text: string, universe: LiveUniverse, problems: BodyProblem[], max: number): Column[] {
  // The header alone first: a body naming too many targets is refused before any row is read.
  const firstLine = text.slice(0, text.indexOf('\n') + 1 || text.length);
  let headerFields = 0;
  readCsv(firstLine, { row: (fields) => (headerFields = fields.length), malformed: () => {} });
  if (headerFields - 1 > max) {
    problems.push({ ...tooManyColumns(`the header names ${formatCount(headerFields - 1)}`, max), lines: [1] });
    return [];
  }
  let columns: Column[] = [];
  let width = 0;
  let usable = false;
  let dataRows = 0;
  const rowProblems = new ProblemCollector('lines');
  readCsv(text, {
    row(fields, line) {
      if (width === 0) {
        width = fields.length;
        const names = targetColumns(fields, line, problems);
        usable = names !== undefined;
        columns = (names ?? []).map((name) => {
          const collector = new ProblemCollector('lines');
          return { name, collector, aligner: new UniverseAligner(universe, collector, TARGET.rule, CSV_LOCATOR) };
        });
      } else if (usable) {
        dataRows += 1;
        if (fields.length !== width) {
          rowProblems.note('bad_row', line, `line ${line} has ${plural(fields.length, 'field', 'fields')}, expected ${width}`);
          return;
        }
        for (let j = 0; j < columns.length; j++) columns[j].aligner.addText(fields[0], fields[j + 1], line);
      }
    },
    malformed(line, reason) {
      if (width === 0) {
        width = -1;
        problems.push({ code: 'missing_header', message: `line ${line}: the header is malformed: ${reason}`, lines: [line], count: 1 });
      } else if (usable) {
        dataRows += 1;
        rowProblems.note('bad_row', line, `line ${line}: ${reason}`);
      }
    },
  });
  if (width === 0) problems.push(emptyBody('the body is empty; send the header id,<target>,<target>… and one row per id'));
  else if (usable && dataRows === 0) problems.push(emptyBody('the body has a header but no rows; add one row per id under id,<target>,<target>…'));
  problems.push(...rowProblems.problems({ bad_row: (count, examples) => (count === 1 ? examples[0] : `${plural(count, 'row is', 'rows are')} malformed: ${listed(examples, count)}`) }));
  return usable ? columns : [];
}

/** The target names of a CSV header `id,<name>,<name>…`, or undefined when it cannot be used. */
function targetColumns(fields: readonly string[], line: number, problems: BodyProblem[]): string[] | undefined {
  const names = fields.map((field) => field.trim());
  if (names[0] !== 'id' || names.length < 2) {
    const found = quoted(names.join(','), 80);
    problems.push({ code: 'missing_header', message: `the first line must be the header id,<target>,<target>… naming at least one target; found ${found}`, lines: [line], count: 1 });
    return undefined;
  }
  return checkTargetNames(names.slice(1), problems, { lines: [line] }) ? names.slice(1) : undefined;
}

function checkTargetNames(names: readonly string[], problems: BodyProblem[], where: { lines?: number[] }): boolean {
  const invalid = [...new Set(names.filter((name) => !TARGET_NAME.test(name)))];
  if (invalid.length > 0) {
    problems.push({
      code: 'invalid_target_name',
      message: `${plural(invalid.length, 'target name is', 'target names are')} not ${TARGET_NAME_SHAPE}: ${quotedList(invalid)}`,
      ...where,
      count: invalid.length,
    });
  }
  const repeated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
  if (repeated.length > 0) {
    problems.push({
      code: 'duplicate_columns',
      message: `${plural(repeated.length, 'target appears', 'targets appear')} more than once: ${quotedList(repeated)}; send each target once`,
      ...where,
      count: repeated.length,
    });
  }
  return invalid.length === 0 && repeated.length === 0;
}

function readTargetsJson(value: unknown, universe: LiveUniverse, problems: BodyProblem[], max: number): Column[] {
  const shape = (detail: string): BodyProblem => ({ code: 'invalid_shape', message: `${detail}; several targets in JSON are ${MULTI_JSON_SHAPE}`, count: 1 });
  if (value === undefined) {
    problems.push(emptyBody('the body is empty'));
    return [];
  }
  if (!isRecord(value) || !('targets' in value)) {
    problems.push(shape(`the body is ${describeJson(value)}${isRecord(value) ? ' without "targets"' : ''}`));
    return [];
  }
  const unexpected = Object.keys(value).filter((key) => key !== 'ids' && key !== 'targets');
  if (unexpected.length > 0) problems.push(shape(`unexpected ${unexpected.length === 1 ? 'key' : 'keys'} ${quotedList(unexpected)}`));
  const { ids, targets } = value;
  if (!Array.isArray(ids)) problems.push(shape(`"ids" must be an array, got ${describeJson(ids)}`));
  if (!isRecord(targets)) problems.push(shape(`"targets" must be an object of arrays by target name, got ${describeJson(targets)}`));
  if (!Array.isArray(ids) || !isRecord(targets)) return [];
  const names = Object.keys(targets);
  if (names.length > max) {
    problems.push(tooManyColumns(`"targets" names ${formatCount(names.length)}`, max));
    return [];
  }
  if (names.length === 0) problems.push(shape('"targets" names no target'));
  if (!checkTargetNames(names, problems, {})) return [];
  if (ids.length === 0) problems.push(emptyBody('the body has no ids'));
  const columns: Column[] = [];
  for (const name of names) {
    const values = targets[name];
    if (!Array.isArray(values)) {
      problems.push({ ...shape(`"targets.${name}" must be an array, got ${describeJson(values)}`), column: name });
      continue;
    }
    if (values.length !== ids.length) {
      problems.push({
        code: 'length_mismatch',
        message: `"ids" has ${plural(ids.length, 'entry', 'entries')} but "targets.${name}" has ${formatCount(values.length)}; they must pair up one to one`,
        column: name,
        count: Math.abs(ids.length - values.length),
      });
    }
    const collector = new ProblemCollector('indexes');
    const aligner = new UniverseAligner(universe, collector, TARGET.rule, columnsLocator(`targets.${name}`));
    const paired = Math.min(ids.length, values.length);
    for (let index = 0; index < paired; index += 1) aligner.addJson(ids[index], values[index], index);
    columns.push({ name, aligner, collector });
  }
  return columns;
}
