import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LiveUniverse, indexLiveIds } from '../../src/ingest/aligned.js';
import type { IngestBody } from '../../src/ingest/id-value.js';
import { InvalidBodyError } from '../../src/ingest/problems.js';
import { PREDICTION_TOLERANCE, type ParsedSubmission, parseSubmission } from '../../src/ingest/submission.js';

const liveIds = ['u0', 'u1', 'u2', 'u3', 'u4'];
const universe = indexLiveIds(liveIds);

/** Runs the parser; anything thrown other than InvalidBodyError fails the property. */
function attempt(body: IngestBody, minCoverage: number, live: LiveUniverse = universe): ParsedSubmission | undefined {
  try {
    return parseSubmission(body, live, { era: 1, minCoverage });
  } catch (error) {
    if (!(error instanceof InvalidBodyError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(problem.message.length).toBeGreaterThan(0);
      expect(problem.count).toBeGreaterThan(0);
      expect(problem.ids?.length ?? 0).toBeLessThanOrEqual(20);
      expect(problem.lines?.length ?? 0).toBeLessThanOrEqual(20);
      expect(problem.indexes?.length ?? 0).toBeLessThanOrEqual(20);
    }
    return undefined;
  }
}

/** What docs/concepts.md, submission promises of anything accepted, checked on the output alone. */
function expectRulesHold(parsed: ParsedSubmission, minCoverage: number, live: LiveUniverse = universe): void {
  const present = Array.from(parsed.aligned).filter((value) => !Number.isNaN(value));
  expect(parsed.aligned.length).toBe(live.ids.length);
  expect(parsed.rows).toBe(present.length);
  expect(present.length).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(minCoverage * live.ids.length - 1e-9)));
  for (const value of present) {
    expect(value).toBeGreaterThanOrEqual(-PREDICTION_TOLERANCE);
    expect(value).toBeLessThanOrEqual(1 + PREDICTION_TOLERANCE);
  }
  if (present.length > 1) expect(new Set(present).size).toBeGreaterThan(1);
}

type Category = 'valid' | 'non_numeric' | 'not_finite' | 'out_of_range';

interface Cell {
  category: Category;
  /** As written in CSV. */
  text: string;
  /** As sent in JSON. */
  json: unknown;
  /** The number a valid cell stands for. */
  value: number;
}

const cell = (category: Category, text: string, json: unknown, value = Number.NaN): Cell => ({ category, text, json, value });

const validCell = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }).map((v) => cell('valid', String(v), v, v)),
  fc.double({ min: 0, max: 1, noNaN: true }).map((v) => cell('valid', v.toExponential(), Number(v.toExponential()), Number(v.toExponential()))),
  fc.constantFrom(0.25, 0.5, 0.75).map((v) => cell('valid', String(v), v, v)),
  fc.constantFrom(-5e-8, 1 + 5e-8).map((v) => cell('valid', String(v), v, v)),
);

const invalidCell = fc.oneof(
  fc.constantFrom('abc', '', '0x10', ' 0.5', '1_0', '½').map((t) => cell('non_numeric', t, t)),
  fc.constant(cell('non_numeric', 'true', true)),
  fc.constantFrom('nan', 'NaN', 'inf', '-inf', 'Infinity', '1e400').map((t) => cell('not_finite', t, null)),
  fc.oneof(fc.double({ min: 1.001, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: -0.001, noNaN: true })).map((v) =>
    cell('out_of_range', String(v), v),
  ),
);

const idChoice = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...universe.ids) },
  { weight: 1, arbitrary: fc.constantFrom('zz', 'u9', 'U0') },
  { weight: 1, arbitrary: fc.constantFrom('', 'a b', 'ü', 'x'.repeat(65)) },
);

const rowsArbitrary = fc.array(
  fc.record({ id: idChoice, cell: fc.oneof({ weight: 8, arbitrary: validCell }, { weight: 1, arbitrary: invalidCell }) }),
  { maxLength: 8 },
);

type Row = { id: string; cell: Cell };

/** Mostly well-formed bodies, some with one stray row, so acceptance is common too. */
const nearValidRows = fc
  .tuple(
    fc.shuffledSubarray(liveIds, { minLength: 1 }),
    fc.array(validCell, { minLength: 5, maxLength: 5 }),
    fc.option(fc.record({ id: idChoice, cell: fc.oneof(validCell, invalidCell) }), { freq: 2 }),
  )
  .map(([ids, cells, stray]): Row[] => [...ids.map((id, i) => ({ id, cell: cells[i] })), ...(stray === null ? [] : [stray])]);

function renderCsv(rows: readonly Row[], crlf: boolean, bom: boolean, quoteIds: boolean): IngestBody {
  const end = crlf ? '\r\n' : '\n';
  const id = (text: string) => (quoteIds ? `"${text}"` : text);
  return { kind: 'csv', text: `${bom ? '\uFEFF' : ''}id,prediction${end}${rows.map((row) => `${id(row.id)},${row.cell.text}`).join(end)}${end}` };
}

const renderColumns = (rows: readonly Row[]): IngestBody => ({
  kind: 'json',
  value: { ids: rows.map((row) => row.id), predictions: rows.map((row) => row.cell.json) },
});

const renderRows = (rows: readonly Row[]): IngestBody => ({
  kind: 'json',
  value: { rows: rows.map((row) => ({ id: row.id, prediction: row.cell.json })) },
});

/** The rules of docs/concepts.md, submission, stated directly over the generated rows. */
function shouldAccept(rows: readonly Row[], minCoverage: number): boolean {
  const ids = rows.map((row) => row.id);
  const valid = rows.every((row) => row.cell.category === 'valid');
  const inUniverse = ids.every((id) => universe.index.has(id));
  const unique = new Set(ids).size === ids.length;
  const varied = rows.length === 1 || new Set(rows.map((row) => row.cell.value)).size > 1;
  const covered = rows.length >= Math.ceil(minCoverage * universe.ids.length - 1e-9);
  return rows.length > 0 && valid && inUniverse && unique && varied && covered;
}

describe('parseSubmission on generated bodies', () => {
  it('accepts exactly the bodies that follow every rule, the same way in CSV and JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(rowsArbitrary, nearValidRows),
        fc.constantFrom(0, 0.4, 1),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (rows, minCoverage, crlf, bom, quoteIds) => {
          const results = [renderCsv(rows, crlf, bom, quoteIds), renderColumns(rows), renderRows(rows)].map((body) =>
            attempt(body, minCoverage),
          );
          const expected = shouldAccept(rows, minCoverage);
          for (const parsed of results) {
            expect(parsed !== undefined).toBe(expected);
            if (parsed === undefined) continue;
            expectRulesHold(parsed, minCoverage);
            for (const row of rows) expect(parsed.aligned[universe.index.get(row.id) ?? -1]).toBe(row.cell.value);
            expect(parsed.sha256).toBe(results[0]?.sha256);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts full-coverage submissions in any row order', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(liveIds, { minLength: 5, maxLength: 5 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
        (order, values) => {
          fc.pre(new Set(values).size > 1);
          const rows = order.map((id, i) => ({ id, cell: cell('valid', String(values[i]), values[i], values[i]) }));
          expect(attempt(renderCsv(rows, false, false, false), 1)).toBeDefined();
        },
      ),
    );
  });
});

describe('parseSubmission on arbitrary input', () => {
  const csvFragments = fc.constantFrom('id', 'prediction', 'probability', ',', '\n', '\r\n', '\r', '"', '""', '\uFEFF', ' ', 'u0', 'u1', 'u2', 'u3', 'u4', 'zz', '0.5', '0.25', '1', '1e-1', 'nan', '-', 'e', '.');

  it('throws nothing but InvalidBodyError on any string, and keeps every rule when it accepts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(csvFragments, { maxLength: 60 }).map((parts) => parts.join(''))), fc.constantFrom(0, 0.5, 1), (text, minCoverage) => {
        const parsed = attempt({ kind: 'csv', text }, minCoverage);
        if (parsed !== undefined) expectRulesHold(parsed, minCoverage);
      }),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but InvalidBodyError on any JSON value, and keeps every rule when it accepts', () => {
    const nearShapes = fc.oneof(
      fc.record({ ids: fc.array(fc.oneof(fc.constantFrom(...universe.ids), fc.jsonValue())), predictions: fc.array(fc.oneof(fc.double(), fc.jsonValue())) }),
      fc.record({ rows: fc.array(fc.dictionary(fc.constantFrom('id', 'prediction', 'probability', 'x'), fc.oneof(fc.constantFrom(...universe.ids), fc.double(), fc.jsonValue()))) }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything(), nearShapes), fc.constantFrom(0, 0.5, 1), (value, minCoverage) => {
        const parsed = attempt({ kind: 'json', value }, minCoverage);
        if (parsed !== undefined) expectRulesHold(parsed, minCoverage);
      }),
      { numRuns: 1000 },
    );
  });
});
