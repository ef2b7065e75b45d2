import { type Hash, createHash } from 'node:crypto';
import { boundedCache } from '../cache.js';
import { type LiveUniverse, ROWS_LOCATOR, UniverseAligner, alignerMessages, describeJson } from './aligned.js';
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
import { canonicalNumber } from './number.js';
import { ProblemCollector, formatCount, listed } from './problems.js';

export interface SubmissionOptions {
  era: number;
  /** Share of the era's live ids a submission must cover, 0..1; default 1 (every id). */
  minCoverage?: number;
}

export interface ParsedSubmission {
  /** One value per universe id, in universe order; NaN where the submission has none. */
  aligned: Float64Array;
  rows: number;
  /** Hex sha256 of the canonical form (canonicalSubmission). */
  sha256: string;
}

/**
 * Float noise tolerated either side of [0, 1]. The reference (numerai-tools) uses
 * np.isclose: −1e-8 below, about +1e-5 above; the documented tolerance is 1e-7, and we apply it
 * symmetrically so `1 − x` style rounding below zero is forgiven like rounding above one.
 */
export const PREDICTION_TOLERANCE = 1e-7;

const ROWS_SHAPE = '{"rows": [{"id": "...", "prediction": 0.1}, ...]}';

const SUBMISSION: IdValueLayout = {
  body: 'a submission',
  valueColumns: ['prediction', 'probability'],
  valuesKey: 'predictions',
  otherJsonShapes: [ROWS_SHAPE],
  rule: { noun: 'prediction', min: -PREDICTION_TOLERANCE, max: 1 + PREDICTION_TOLERANCE, rangeLabel: '[0, 1]' },
};

/**
 * Validates a submission body (docs/concepts.md, Submission) and aligns it to the universe.
 * Throws InvalidBodyError listing every problem found, never anything else.
 */
export function parseSubmission(body: IngestBody, universe: LiveUniverse, opts: SubmissionOptions): ParsedSubmission {
  const problems = new ProblemCollector(body.kind === 'csv' ? 'lines' : 'indexes');
  const aligner =
    body.kind === 'csv'
      ? alignIdValueCsv(body.text, universe, SUBMISSION, problems)
      : alignSubmissionJson(body.value, universe, problems);
  if (aligner !== undefined) {
    aligner.finish();
    if (aligner.rows > 0) checkSubmissionAsWhole(aligner, universe, opts, problems);
  }
  problems.throwIfAny({ ...alignerMessages(SUBMISSION.rule, opts.era, aligner), ...structureMessages(SUBMISSION) });
  // Every rule passed, so the aligner exists.
  const { aligned, rows } = aligner as UniverseAligner;
  return { aligned, rows, sha256: submissionDigest(universe, aligned) };
}

function alignSubmissionJson(value: unknown, universe: LiveUniverse, problems: ProblemCollector): UniverseAligner | undefined {
  if (value === undefined) {
    problems.add(emptyBody('the body is empty'));
  } else if (isRecord(value) && 'rows' in value) {
    return alignRows(value, universe, problems);
  } else if (isRecord(value) && ('ids' in value || 'predictions' in value)) {
    return alignIdValueColumns(value, universe, SUBMISSION, problems);
  } else {
    problems.add(invalidShape(`the body is ${describeJson(value)}`, SUBMISSION));
  }
  return undefined;
}

function alignRows(body: Record<string, unknown>, universe: LiveUniverse, problems: ProblemCollector): UniverseAligner | undefined {
  const unexpected = Object.keys(body).filter((key) => key !== 'rows');
  if (unexpected.length > 0) {
    problems.add(invalidShape(`unexpected key ${JSON.stringify(unexpected[0])} next to "rows"`, SUBMISSION));
  }
  const { rows } = body;
  if (!Array.isArray(rows)) {
    problems.add(invalidShape(`"rows" must be an array, got ${describeJson(rows)}`, SUBMISSION));
    return undefined;
  }
  if (rows.length === 0) problems.add(emptyBody('the body has no predictions: "rows" is empty'));
  const aligner = new UniverseAligner(universe, problems, SUBMISSION.rule, ROWS_LOCATOR);
  rows.forEach((row: unknown, index) => {
    const fault = isRecord(row) ? rowFault(row) : `is ${describeJson(row)}, not an object`;
    if (fault !== undefined || !isRecord(row)) problems.note('bad_row', index, `rows[${index}] ${fault}`);
    else aligner.addJson(row.id, Object.hasOwn(row, 'prediction') ? row.prediction : row.probability, index);
  });
  return aligner;
}

/** Why a `rows` entry is not `{id, prediction}` or `{id, probability}`; undefined if it is. */
function rowFault(row: Record<string, unknown>): string | undefined {
  if (!Object.hasOwn(row, 'id')) return 'has no "id"';
  const hasPrediction = Object.hasOwn(row, 'prediction');
  if (hasPrediction === Object.hasOwn(row, 'probability')) {
    return hasPrediction ? 'has both "prediction" and "probability"' : 'has no "prediction"';
  }
  const extra = Object.keys(row).filter((key) => key !== 'id' && key !== 'prediction' && key !== 'probability');
  return extra.length > 0 ? `has unexpected key ${JSON.stringify(extra[0])}` : undefined;
}

function checkSubmissionAsWhole(
  aligner: UniverseAligner,
  universe: LiveUniverse,
  opts: SubmissionOptions,
  problems: ProblemCollector,
): void {
  if (aligner.isConstant) {
    const all = `all ${formatCount(aligner.valid)} predictions are ${canonicalNumber(aligner.firstValid)}`;
    problems.add({
      code: 'constant_predictions',
      message: `${all}; predictions are ranked, so they must not all be equal`,
      count: aligner.valid,
    });
  }
  checkCoverage(aligner, universe, opts.minCoverage ?? 1, problems);
}

function checkCoverage(aligner: UniverseAligner, universe: LiveUniverse, minCoverage: number, problems: ProblemCollector): void {
  const live = universe.ids.length;
  // Float products overshoot (0.07 × 100 = 7.000000000000001); that must not demand an 8th id.
  const required = Math.min(live, Math.ceil(minCoverage * live - 1e-9));
  if (aligner.covered >= required) return;
  const missing = live - aligner.covered;
  const ids = aligner.missingIds(20);
  const requirement =
    required === live ? 'every live id' : `at least ${formatCount(required)} (${Number((minCoverage * 100).toFixed(2))}%)`;
  const covers = `covers ${formatCount(aligner.covered)} of ${formatCount(live)} live ids`;
  problems.add({
    code: 'insufficient_coverage',
    message: `${covers}; this era requires ${requirement}. Missing: ${listed(ids, missing, ', ')}`,
    ids,
    count: missing,
  });
}

interface IdOrder {
  /** universe slots in id order */
  slots: Uint32Array;
  /** sha256 state after the canonical form's id part for a submission covering every id */
  fullPrefix: Hash;
}

// Keyed by the ids array itself: an era's universe index (services/eras.ts, by digest) and a
// worker's (prepare-worker.ts) hand the same array to every submission, so it is sorted once.
const idOrders = boundedCache<readonly string[], IdOrder>({
  max: 16,
  staleness: 'an entry is derived from the ids array that keys it, which is never changed once built; one evicted is only sorted again',
});

/** The universe's slots in id order and the hash of its ids as lines, computed once per `ids` array. */
function idOrder(ids: readonly string[]): IdOrder {
  let order = idOrders.get(ids);
  if (order === undefined) {
    const slots = Uint32Array.from(ids.keys()).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
    order = { slots, fullPrefix: createHash('sha256').update(`${idLines(ids, slots)}\n`) };
    idOrders.set(ids, order);
  }
  return order;
}

function idLines(ids: readonly string[], slots: Iterable<number>): string {
  let lines = '';
  for (const slot of slots) lines += `${ids[slot]}\n`;
  return lines;
}

/** The submitted values in id order, as base64 of their float64 bits, and how many there are. */
function valuesInIdOrder(slots: Uint32Array, aligned: Float64Array): { base64: string; count: number } {
  const values = new Float64Array(slots.length);
  let count = 0;
  for (const slot of slots) {
    const value = aligned[slot];
    if (!Number.isNaN(value)) values[count++] = value;
  }
  return { base64: Buffer.from(values.buffer, 0, count * 8).toString('base64'), count };
}

/**
 * What a submission's sha256 is taken over: the submitted ids in code-unit order, one per
 * line, a blank line, then the base64 of their float64 values in that order. The same content
 * hashes the same whatever its format (CSV or JSON), row order or number spelling (`0.5`,
 * `5e-1`). Exact bits rather than decimal text because formatting 6,000 doubles would cost
 * more than the rest of the parse.
 */
export function canonicalSubmission(universe: LiveUniverse, aligned: Float64Array): string {
  const { slots } = idOrder(universe.ids);
  return `${idLines(universe.ids, presentSlots(slots, aligned))}\n${valuesInIdOrder(slots, aligned).base64}`;
}

/**
 * sha256 of canonicalSubmission without building it: the id part of a full submission is the
 * same for every submission to the era, so its hash state is kept and copied.
 */
function submissionDigest(universe: LiveUniverse, aligned: Float64Array): string {
  const { slots, fullPrefix } = idOrder(universe.ids);
  const { base64, count } = valuesInIdOrder(slots, aligned);
  const hash = count === slots.length ? fullPrefix.copy() : createHash('sha256').update(`${idLines(universe.ids, presentSlots(slots, aligned))}\n`);
  return hash.update(base64, 'latin1').digest('hex'); // base64 is ASCII: latin1 skips the UTF-8 pass
}

function presentSlots(slots: Uint32Array, aligned: Float64Array): number[] {
  return Array.from(slots).filter((slot) => !Number.isNaN(aligned[slot]));
}
