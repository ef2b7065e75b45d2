import { type LiveUniverse, UniverseAligner, alignerMessages, describeJson } from './aligned.js';
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
import { type BodyProblem, InvalidBodyError, ProblemCollector, formatCount, sortProblems } from './problems.js';

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

export type { ParsedNamedTarget } from './targets.js';

/** Target columns per upload unless configured (TARGETS_MAX_COLUMNS). */
export const DEFAULT_MAX_COLUMNS = 64;
/** The share of the universe a main-target version must cover: scoring's overlap rule. */
export const MAIN_TARGET_COVERAGE = 0.8;

export interface ParsedTarget {
  /** One value per universe id, in universe order; NaN where the body has none. */
  aligned: Float64Array;
  count: number;
}

export const TARGET: IdValueLayout = {
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
export function jsonValue(body: Exclude<TargetBody, { kind: 'csv' }>, maxColumns?: number): unknown {
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

export function tooManyColumns(found: string, max: number): BodyProblem {
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
