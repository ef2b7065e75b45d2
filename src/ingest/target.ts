import { CSV_LOCATOR, type LiveUniverse, UniverseAligner, alignerMessages, columnsLocator, describeJson } from './aligned.js';
import { readCsv } from './csv.js';
import {
  type IdValueLayout,
  type IngestBody,
  alignIdValueColumns,
  alignIdValueCsv,
  emptyBody,
  invalidShape,
  isRecord,
  structureMessages,
} from './id-value.js';
import { duplicateKeysMessage, scanJsonKeys } from './json-text.js';
import { type BodyProblem, type BodyProblemCode, InvalidBodyError, ProblemCollector, formatCount, listed, plural, quoted, quotedList, sortProblems } from './problems.js';

/**
 * A target upload as the HTTP layer hands it over: CSV text, a parsed JSON value, or JSON still
 * as text (parsed here, after its keys are checked, so a worker thread can do it).
 */
export type TargetBody = IngestBody | { kind: 'json-text'; text: string };

export interface TargetOptions {
  era?: number;
  /** Most target columns one upload may hold; refused before any value is read. */
  maxColumns?: number;
  /** The era's main target: its version must vary and cover MAIN_TARGET_COVERAGE of the universe. */
  mainTarget?: string;
}

/** A target upload still as text: CSV, or JSON not yet parsed. */
export type TargetText = { kind: 'csv' | 'json-text'; text: string };

/** `name`: the one-target route's target; without it the body names its targets. */
export type TargetParseOptions = TargetOptions & { name?: string };

/** The one place a target upload's text becomes its aligned columns (throws InvalidBodyError). */
export function parseTargetText(body: TargetText, universe: LiveUniverse, options: TargetParseOptions): ParsedNamedTarget[] {
  const { name, ...rest } = options;
  if (name === undefined) return parseTargets(body, universe, rest);
  return [{ name, ...parseTarget(body, universe, options) }];
}

/** Target columns per upload unless configured (TARGETS_MAX_COLUMNS). */
export const DEFAULT_MAX_COLUMNS = 64;
/** The share of the universe a main-target version must cover: scoring's overlap rule. */
export const MAIN_TARGET_COVERAGE = 0.8;

export interface ParsedTarget {
  /** One value per universe id, in universe order; NaN where the body has none. */
  aligned: Float64Array;
  count: number;
}

const TARGET: IdValueLayout = {
  body: 'a target upload',
  valueColumns: ['target'],
  valuesKey: 'values',
  rule: { noun: 'target value', min: 0, max: 1, rangeLabel: '[0, 1]' },
};

/**
 * Validates one target's values for an era: CSV `id,target` or JSON `{ids, values}`, every
 * value finite and in [0, 1] (no tolerance: targets come from us, not from float noise),
 * ids in the universe and unique, at least one row. Ids without a row stay NaN.
 */
export function parseTarget(body: TargetBody, universe: LiveUniverse, opts: TargetOptions & { name?: string } = {}): ParsedTarget {
  const problems = new ProblemCollector(body.kind === 'csv' ? 'lines' : 'indexes');
  const aligner =
    body.kind === 'csv'
      ? alignIdValueCsv(body.text, universe, TARGET, problems)
      : alignTargetJson(jsonValue(body), universe, problems);
  aligner?.finish();
  problems.throwIfAny({ ...alignerMessages(TARGET.rule, opts.era, aligner), ...structureMessages(TARGET) });
  // Every rule passed, so the aligner exists.
  const { aligned, rows } = aligner as UniverseAligner;
  if (opts.name !== undefined && opts.name === opts.mainTarget) {
    const main = mainTargetProblems(opts.name, aligned, opts.era);
    if (main.length > 0) throw new InvalidBodyError(sortProblems(main));
  }
  return { aligned, count: rows };
}

/** The JSON value of a body; JSON text is checked for repeated keys (and too many targets) before it is parsed. */
function jsonValue(body: Exclude<TargetBody, { kind: 'csv' }>, maxColumns?: number): unknown {
  if (body.kind === 'json') return body.value;
  if (body.text.trim() === '') return undefined;
  const scan = scanJsonKeys(body.text, maxColumns === undefined ? undefined : { path: 'targets', max: maxColumns });
  if (scan.overLimit) throw new InvalidBodyError([tooManyColumns(`"targets" names more than ${maxColumns}`, maxColumns as number)]);
  if (scan.duplicateCount > 0) {
    throw new InvalidBodyError([{ code: 'duplicate_keys', message: duplicateKeysMessage(scan), count: scan.duplicateCount }]);
  }
  try {
    return JSON.parse(body.text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidBodyError([{ code: 'invalid_json', message: `the body is not valid JSON: ${reason}`, count: 1 }]);
  }
}

function tooManyColumns(found: string, max: number): BodyProblem {
  return {
    code: 'too_many_columns',
    message: `the upload has too many targets: ${found}, at most ${max} per upload (TARGETS_MAX_COLUMNS); split it into several uploads`,
    count: 1,
  };
}

/**
 * A main target must be able to pay: constant values score every model as degenerate, and fewer
 * than MAIN_TARGET_COVERAGE of the universe leaves every model below scoring's overlap rule, so
 * either would resolve the era paying nothing.
 */
export function mainTargetProblems(name: string, aligned: Float64Array, era?: number): BodyProblem[] {
  let covered = 0;
  let first = Number.NaN;
  let varied = false;
  for (const value of aligned) {
    if (Number.isNaN(value)) continue;
    if (covered === 0) first = value;
    else if (value !== first) varied = true;
    covered += 1;
  }
  const universe = era === undefined ? "the era's universe" : `era ${era}'s universe`;
  const problems: BodyProblem[] = [];
  // covered / n < 0.8, in integers.
  if (covered * 5 < aligned.length * 4) {
    const share = aligned.length === 0 ? 0 : Math.floor((covered / aligned.length) * 1000) / 10;
    problems.push({
      code: 'insufficient_coverage',
      message: `the main target "${name}" covers ${formatCount(covered)} of the ${formatCount(aligned.length)} ids of ${universe} (${share} %); a main target must cover at least ${MAIN_TARGET_COVERAGE * 100} % (scoring's overlap rule), else no model is scored and resolution pays nothing`,
      column: name,
      count: aligned.length - covered,
    });
  }
  if (covered > 0 && !varied) {
    problems.push({
      code: 'constant_target',
      message: `the main target "${name}" has the same value (${first}) for every id; a constant main target scores no model and resolution would pay nothing: send the target's varied values`,
      column: name,
      count: 1,
    });
  }
  return problems;
}

function alignTargetJson(value: unknown, universe: LiveUniverse, problems: ProblemCollector): UniverseAligner | undefined {
  if (value === undefined) problems.add(emptyBody('the body is empty'));
  else if (isRecord(value) && ('ids' in value || 'values' in value)) return alignIdValueColumns(value, universe, TARGET, problems);
  else problems.add(invalidShape(`the body is ${describeJson(value)}`, TARGET));
  return undefined;
}

/** One column of a multi-target upload. */
export interface ParsedNamedTarget extends ParsedTarget {
  name: string;
}

export const TARGET_NAME = /^[A-Za-z0-9_]{1,64}$/;
const TARGET_NAME_SHAPE = '1–64 characters of A–Z a–z 0–9 _';
const MULTI_JSON_SHAPE = '{"ids": [...], "targets": {"<name>": [...], ...}}';
/** Problems about the values of one column; every other problem is about the rows, the same in every column. */
const VALUE_CODES = new Set<BodyProblemCode>(['non_numeric', 'not_finite', 'out_of_range']);

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
