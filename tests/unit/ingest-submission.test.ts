import { describe, expect, it } from 'vitest';
import { indexLiveIds } from '../../src/ingest/aligned.js';
import type { IngestBody } from '../../src/ingest/id-value.js';
import { createHash } from 'node:crypto';
import { PREDICTION_TOLERANCE, type SubmissionOptions, canonicalSubmission, parseSubmission } from '../../src/ingest/submission.js';
import { csv, json, problemOf, rejection } from '../support/body-problems.js';

const ids = ['id_a', 'id_b', 'id_c', 'id_d', 'id_e', 'id_f'];
const universe = indexLiveIds(ids);
const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];

const csvOf = (rows: readonly (readonly [string, string])[], header = 'id,prediction') =>
  csv([header, ...rows.map(([id, value]) => `${id},${value}`)].join('\n') + '\n');
const validRows = (): [string, string][] => ids.map((id, i) => [id, String(values[i])]);

function submit(body: IngestBody, opts: Partial<SubmissionOptions> = {}) {
  return parseSubmission(body, universe, { era: 812, ...opts });
}

describe('parseSubmission accepts', () => {
  it('a CSV body, aligned to the universe whatever the row order', () => {
    const rows = validRows().reverse();
    const parsed = submit(csvOf(rows));
    expect(Array.from(parsed.aligned)).toEqual(values);
    expect(parsed.rows).toBe(6);
  });

  it('the id,probability header, spaces around header names, a BOM and CRLF', () => {
    const text = `\uFEFF id , probability \r\n${validRows().map((row) => row.join(',')).join('\r\n')}\r\n\r\n`;
    expect(Array.from(submit(csv(text)).aligned)).toEqual(values);
  });

  it('quoted CSV fields', () => {
    const text = `"id","prediction"\n${validRows().map(([id, value]) => `"${id}","${value}"`).join('\n')}`;
    expect(Array.from(submit(csv(text)).aligned)).toEqual(values);
  });

  it('both JSON shapes, with "probability" in rows', () => {
    expect(Array.from(submit(json({ ids, predictions: values })).aligned)).toEqual(values);
    const rows = ids.map((id, i) => (i % 2 === 0 ? { id, prediction: values[i] } : { id, probability: values[i] }));
    expect(Array.from(submit(json({ rows })).aligned)).toEqual(values);
  });

  it('values exactly as parsed, with the float noise the reference tolerates', () => {
    const noisy = ['1.00000009', '-0.00000009', '0.30000000000000004', '1e-7', '0', '1'];
    const parsed = submit(csvOf(ids.map((id, i) => [id, noisy[i]])));
    expect(Array.from(parsed.aligned)).toEqual(noisy.map(Number));
    expect(PREDICTION_TOLERANCE).toBe(1e-7);
  });

  it('a partial submission when the era allows it, NaN where nothing was sent', () => {
    const parsed = submit(csvOf(validRows().slice(0, 5)), { minCoverage: 0.8 });
    expect(parsed.rows).toBe(5);
    expect(Array.from(parsed.aligned.slice(0, 5))).toEqual(values.slice(0, 5));
    expect(parsed.aligned[5]).toBeNaN();
  });
});

describe('the canonical form', () => {
  const canonicalOf = (body: IngestBody, opts: Partial<SubmissionOptions> = {}) => canonicalSubmission(universe, submit(body, opts).aligned);
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('is what the sha256 is taken over, for full and partial submissions', () => {
    const full = submit(csvOf(validRows()));
    expect(full.sha256).toBe(sha256(canonicalOf(csvOf(validRows()))));
    const partial = submit(csvOf(validRows().slice(2)), { minCoverage: 0.5 });
    expect(partial.sha256).toBe(sha256(canonicalOf(csvOf(validRows().slice(2)), { minCoverage: 0.5 })));
    expect(partial.sha256).not.toBe(full.sha256);
    // The digest of a full submission starts from a kept hash state: a second one must not reuse a spent state.
    expect(submit(json({ ids, predictions: values })).sha256).toBe(full.sha256);
  });

  it('is the same for CSV and both JSON shapes of the same content, in any order and spelling', () => {
    const fromCsv = canonicalOf(csvOf(validRows()));
    const respelled = csvOf(ids.map((id, i): [string, string] => [id, values[i].toExponential()]).reverse(), 'id,probability');
    expect(canonicalOf(respelled)).toBe(fromCsv);
    expect(canonicalOf(json({ ids, predictions: values }))).toBe(fromCsv);
    expect(canonicalOf(json({ rows: ids.map((id, i) => ({ id, prediction: values[i] })).reverse() }))).toBe(fromCsv);
  });

  it('lists the ids in code-unit order, then the exact float64 values', () => {
    const mixed = indexLiveIds(['b', 'a', 'C']);
    const canonical = canonicalSubmission(mixed, parseSubmission(json({ ids: ['b', 'a', 'C'], predictions: [0.5, 0.25, 1] }), mixed, { era: 1 }).aligned);
    const [idPart, valuePart] = canonical.split('\n\n');
    expect(idPart).toBe('C\na\nb');
    expect(Array.from(new Float64Array(Uint8Array.from(Buffer.from(valuePart, "base64")).buffer))).toEqual([1, 0.25, 0.5]);
  });

  it('differs when one value differs in its last bit, or in the sign of zero', () => {
    const base = canonicalOf(json({ ids, predictions: values }));
    expect(canonicalOf(json({ ids, predictions: [0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6] }))).not.toBe(base);
    const zero = canonicalOf(csvOf(ids.map((id, i) => [id, i === 0 ? '0' : String(values[i])])));
    const negativeZero = canonicalOf(csvOf(ids.map((id, i) => [id, i === 0 ? '-0' : String(values[i])])));
    expect(negativeZero).not.toBe(zero);
  });

  it('leaves out the ids a partial submission did not send', () => {
    const partial = canonicalOf(csvOf(validRows().slice(1)), { minCoverage: 0.5 });
    expect(partial.split('\n\n')[0]).toBe(ids.slice(1).join('\n'));
  });
});

describe('parseSubmission rejects an empty body', () => {
  it.each([
    ['an empty CSV', csv('')],
    ['a CSV of blank lines and a BOM', csv('\uFEFF\r\n\n')],
    ['a header without rows', csv('id,prediction\n')],
    ['empty JSON columns', json({ ids: [], predictions: [] })],
    ['empty JSON rows', json({ rows: [] })],
    ['no JSON value', json(undefined)],
  ])('%s', (_, body) => {
    expect(rejection(() => submit(body))).toEqual([expect.objectContaining({ code: 'empty_body', count: 1 })]);
  });
});

describe('parseSubmission checks the CSV header', () => {
  it.each([
    ['data on the first line', 'id_a,0.5', 'looks like a data row'],
    ['other capitals', 'ID,Prediction', 'case-sensitive'],
    ['the columns swapped', 'prediction,id', 'id column comes first'],
    ['semicolons', 'id;prediction', '";"-separated: separate columns with commas'],
    ['a pandas index column', ',id,prediction', 'the index pandas writes: save with to_csv(index=False)'],
    ['a pandas index column read back', 'Unnamed: 0,id,prediction', 'to_csv(index=False)'],
    ['a wrong column name', 'id,signal', 'found "id,signal"'],
  ])('names the fix for %s', (_, header, hint) => {
    const problems = rejection(() => submit(csv(`${header}\nid_a,0.5\n`)));
    expect(problems).toEqual([expect.objectContaining({ code: 'missing_header', lines: [1], count: 1 })]);
    expect(problems[0].message).toContain('"id,prediction" or "id,probability"');
    expect(problems[0].message).toContain(hint);
  });

  it('names each extra column', () => {
    const text = `id,prediction,era,data_type\n${validRows().map((row) => `${row.join(',')},1,live`).join('\n')}`;
    expect(rejection(() => submit(csv(text)))).toEqual([
      {
        code: 'extra_columns',
        message: 'remove the 2 extra columns "era", "data_type"; a submission has exactly the columns id,prediction',
        lines: [1],
        count: 2,
      },
    ]);
  });
});

describe('parseSubmission names the offending rows', () => {
  it('rows without exactly two fields, by line', () => {
    const rows = validRows().map((row) => row.join(','));
    rows[1] += ',extra';
    rows[4] = 'id_e';
    const problem = problemOf(() => submit(csv(`id,prediction\n${rows.join('\n')}`)), 'bad_row');
    expect(problem).toMatchObject({ lines: [3, 6], count: 2 });
    expect(problem.message).toContain('line 3 has 3 fields, expected 2; line 6 has 1 field, expected 2');
  });

  it('a malformed quoted row, by line', () => {
    const text = `id,prediction\n${validRows().map((row) => row.join(',')).join('\n')}\n"id_g,0.5\n`;
    expect(problemOf(() => submit(csv(text)), 'bad_row')).toMatchObject({ lines: [8], count: 1 });
  });

  it('invalid id strings, by line', () => {
    const rows = validRows();
    rows.push(['bad id', '0.5'], ['', '0.5'], ['x'.repeat(65), '0.5']);
    const problem = problemOf(() => submit(csvOf(rows)), 'invalid_id');
    expect(problem).toMatchObject({ lines: [8, 9, 10], count: 3 });
    expect(problem.message).toMatch(/^3 ids are not valid \(ids are 1–64 characters .*\): line 8: "bad id"; line 9: ""; line 10: "x{40}…"$/);
  });

  it('ids outside the universe, each named once', () => {
    const rows = validRows();
    rows.push(['id_x', '0.5'], ['id_y', '0.5'], ['id_z', '0.5']);
    expect(problemOf(() => submit(csvOf(rows)), 'unknown_ids')).toEqual({
      code: 'unknown_ids',
      message: "3 ids are not in era 812's universe: id_x, id_y, id_z",
      ids: ['id_x', 'id_y', 'id_z'],
      lines: [8, 9, 10],
      count: 3,
    });
  });

  it('duplicate ids: each id once, and the lines of the repeats', () => {
    const rows = validRows();
    rows.push(['id_b', '0.5'], ['id_b', '0.7'], ['id_q', '0.1'], ['id_q', '0.2']);
    expect(problemOf(() => submit(csvOf(rows)), 'duplicate_ids')).toEqual({
      code: 'duplicate_ids',
      message: '2 ids appear more than once: id_b, id_q; remove the repeats at line 8, line 9, line 11',
      ids: ['id_b', 'id_q'],
      lines: [8, 9, 11],
      count: 2,
    });
  });

  it('non-numeric values, by line, with the text as sent', () => {
    const spelled = ['abc', '', '0x10', ' 0.5', '1,5'];
    const rows = validRows().map(([id], i): [string, string] => [id, spelled[i] ?? '0.5']);
    const problems = rejection(() => submit(csvOf(rows)));
    expect(problems.find((p) => p.code === 'non_numeric')).toEqual({
      code: 'non_numeric',
      message:
        '4 values are not numbers (write plain decimals such as 0.25 or 2.5e-1): line 2: "abc"; line 3: ""; line 4: "0x10"; line 5: " 0.5"',
      lines: [2, 3, 4, 5],
      count: 4,
    });
    expect(problems.find((p) => p.code === 'bad_row')).toMatchObject({ lines: [6] });
  });

  it('one non-numeric value in the words of the message', () => {
    const rows = validRows();
    rows[5] = ['id_f', 'abc'];
    expect(problemOf(() => submit(csvOf(rows)), 'non_numeric').message).toBe(
      'line 7: "abc" is not a number; write plain decimals such as 0.25 or 2.5e-1',
    );
  });

  it('NaN and infinities in every usual spelling, and overflow', () => {
    const spelled = ['nan', 'NaN', 'inf', 'Infinity', '-inf', '1e400'];
    const problem = problemOf(() => submit(csvOf(ids.map((id, i) => [id, spelled[i]]))), 'not_finite');
    expect(problem).toMatchObject({ code: 'not_finite', lines: [2, 3, 4, 5, 6, 7], count: 6 });
    expect(problem.message).toContain('6 values are not finite numbers (every prediction must be a number in [0, 1])');
  });

  it('values outside [0, 1] beyond the tolerance', () => {
    const spelled = ['1.5', '-0.2', '1.0000002', '-0.0000002', '0.5', '0.6'];
    expect(problemOf(() => submit(csvOf(ids.map((id, i) => [id, spelled[i]]))), 'out_of_range')).toEqual({
      code: 'out_of_range',
      message: '4 values are outside [0, 1]: line 2: 1.5; line 3: -0.2; line 4: 1.0000002; line 5: -0.0000002',
      lines: [2, 3, 4, 5],
      count: 4,
    });
  });

  it('values that look like percentages, with the fix', () => {
    const percent = ['10', '20', '30', '40', '50', '60'];
    const problem = problemOf(() => submit(csvOf(ids.map((id, i) => [id, percent[i]]))), 'out_of_range');
    expect(problem.message).toMatch(/^6 values are outside \[0, 1\]; they look like percentages: divide every value by 100: line 2: 10;/);
    const one = problemOf(() => submit(csvOf(ids.map((id, i) => [id, i === 0 ? '55' : String(values[i])]))), 'out_of_range');
    expect(one.message).toBe('line 2: 55 is outside [0, 1]; every prediction must be a number in [0, 1]; it looks like a percentage: divide every value by 100');
    // Beyond 100 or below 0 they are not percentages: no such hint.
    const mixed = problemOf(() => submit(csvOf(ids.map((id, i) => [id, i === 0 ? '150' : percent[i]]))), 'out_of_range');
    expect(mixed.message).not.toContain('percent');
    const fromJson = problemOf(() => submit(json({ ids, predictions: [12.5, 50, 0.3, 0.4, 0.5, 0.6] })), 'out_of_range');
    expect(fromJson.message).toContain('they look like percentages');
  });

  it('the first 20 offenders and a count of all of them', () => {
    const big = indexLiveIds(Array.from({ length: 30 }, (_, i) => `n${i}`));
    const text = `id,prediction\n${big.ids.map((id) => `${id},bad`).join('\n')}`;
    const problem = problemOf(() => parseSubmission(csv(text), big, { era: 1 }), 'non_numeric');
    expect(problem.count).toBe(30);
    expect(problem.lines).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(problem.message).toMatch(/line 21: "bad"; … and 10 more$/);
  });
});

describe('parseSubmission checks the submission as a whole', () => {
  it('refuses constant predictions', () => {
    expect(rejection(() => submit(csvOf(ids.map((id) => [id, '0.5']))))).toEqual([
      {
        code: 'constant_predictions',
        message: 'all 6 predictions are 0.5; predictions are ranked, so they must not all be equal',
        count: 6,
      },
    ]);
  });

  it('treats equal values written differently as constant', () => {
    const spelled = ['0.5', '5e-1', '0.50', '.5', '+0.5', '500e-3'];
    expect(problemOf(() => submit(csvOf(ids.map((id, i) => [id, spelled[i]]))), 'constant_predictions').count).toBe(6);
  });

  it('requires every live id by default, naming the missing ones', () => {
    expect(rejection(() => submit(csvOf(validRows().slice(0, 4))))).toEqual([
      {
        code: 'insufficient_coverage',
        message: 'covers 4 of 6 live ids; this era requires every live id. Missing: id_e, id_f',
        ids: ['id_e', 'id_f'],
        count: 2,
      },
    ]);
  });

  it('words coverage at Numerai scale, and lists 20 of the missing ids', () => {
    const big = indexLiveIds(Array.from({ length: 6000 }, (_, i) => `n${String(i).padStart(4, '0')}`));
    const sent = big.ids.slice(0, 5990).map((id, i) => `${id},${(i + 1) / 6000}`);
    const problem = problemOf(() => parseSubmission(csv(`id,prediction\n${sent.join('\n')}`), big, { era: 812 }), 'insufficient_coverage');
    expect(problem.message).toBe(
      'covers 5,990 of 6,000 live ids; this era requires every live id. Missing: n5990, n5991, n5992, n5993, n5994, n5995, n5996, n5997, n5998, n5999',
    );
    expect(problem.count).toBe(10);
    const fewer = big.ids.slice(0, 5000).map((id, i) => `${id},${(i + 1) / 6000}`);
    const short = problemOf(() => parseSubmission(csv(`id,prediction\n${fewer.join('\n')}`), big, { era: 812, minCoverage: 0.95 }), 'insufficient_coverage');
    expect(short).toMatchObject({ count: 1000, ids: big.ids.slice(5000, 5020) });
    expect(short.message).toMatch(/^covers 5,000 of 6,000 live ids; this era requires at least 5,700 \(95%\)\. Missing: n5000, .*n5019, … and 980 more$/);
  });

  it('accepts exactly the required share', () => {
    const big = indexLiveIds(Array.from({ length: 6000 }, (_, i) => `n${i}`));
    const sent = big.ids.slice(0, 5700).map((id, i) => `${id},${i / 6000}`);
    expect(parseSubmission(csv(`id,prediction\n${sent.join('\n')}`), big, { era: 1, minCoverage: 0.95 }).rows).toBe(5700);
  });

  it('collects every kind of problem at once, in a fixed order', () => {
    const text = 'id,prediction\nid_a,0.5\nid_a,0.5\nid_zz,abc\nbad id,nan\nid_b,2\nid_c\n';
    expect(rejection(() => submit(csv(text))).map((problem) => problem.code)).toEqual([
      'bad_row',
      'invalid_id',
      'unknown_ids',
      'duplicate_ids',
      'non_numeric',
      'not_finite',
      'out_of_range',
      'insufficient_coverage',
    ]);
  });

  it('leaves constancy open while some values are invalid', () => {
    const rows = ids.map((id, i): [string, string] => [id, i === 0 ? 'abc' : '0.5']);
    expect(rejection(() => submit(csvOf(rows))).map((problem) => problem.code)).toEqual(['non_numeric']);
  });

  it('does not call a single prediction constant', () => {
    const single = indexLiveIds(['only']);
    expect(parseSubmission(csv('id,prediction\nonly,0.5'), single, { era: 1 }).rows).toBe(1);
  });
});

describe('parseSubmission reads JSON strictly', () => {
  it.each([
    ['an array', [1, 2]],
    ['a string', 'id,prediction'],
    ['null', null],
    ['an object of another shape', { predictions_by_id: {} }],
  ])('refuses %s, naming both accepted shapes', (_, value) => {
    const problems = rejection(() => submit(json(value)));
    expect(problems).toEqual([expect.objectContaining({ code: 'invalid_shape', count: 1 })]);
    expect(problems[0].message).toContain('{"ids": [...], "predictions": [...]} or {"rows": [{"id": "...", "prediction": 0.1}, ...]}');
  });

  it('names both accepted shapes when the columns shape is wrong', () => {
    const problem = problemOf(() => submit(json({ ids, predictions: values, era: 812 })), 'invalid_shape');
    expect(problem.message).toContain('{"ids": [...], "predictions": [...]} or {"rows": [{"id": "...", "prediction": 0.1}, ...]}');
  });

  it('refuses columns that are not arrays and unexpected keys', () => {
    expect(problemOf(() => submit(json({ ids: 'id_a', predictions: [0.5] })), 'invalid_shape').message).toMatch(/^"ids" must be an array, got "id_a" \(a string\)/);
    expect(problemOf(() => submit(json({ ids, predictions: values, era: 812 })), 'invalid_shape').message).toMatch(/^unexpected key "era"/);
    expect(problemOf(() => submit(json({ rows: [], model: 'x' })), 'invalid_shape').message).toMatch(/^unexpected key "model" next to "rows"/);
  });

  it('refuses columns of different lengths', () => {
    expect(problemOf(() => submit(json({ ids, predictions: values.slice(0, 4) })), 'length_mismatch')).toEqual({
      code: 'length_mismatch',
      message: '"ids" has 6 entries but "predictions" has 4; they must pair up one to one',
      count: 2,
    });
  });

  it('names malformed rows by index', () => {
    const rows: unknown[] = ids.map((id, i) => ({ id, prediction: values[i] }));
    rows.push(3, { id: 'id_a' }, { id: 'id_b', prediction: 0.1, probability: 0.1 }, { id: 'id_c', prediction: 0.1, note: 'x' }, { prediction: 0.3 });
    expect(problemOf(() => submit(json({ rows })), 'bad_row')).toEqual({
      code: 'bad_row',
      message:
        '5 rows are malformed (every row is id,prediction): rows[6] is 3 (a number), not an object; rows[7] has no "prediction"; ' +
        'rows[8] has both "prediction" and "probability"; rows[9] has unexpected key "note"; rows[10] has no "id"',
      indexes: [6, 7, 8, 9, 10],
      count: 5,
    });
  });

  it('calls null and NaN not finite, and other types non-numeric, by index', () => {
    const sent: unknown[] = [null, Number.NaN, '0.5', true, { v: 1 }, 0.5];
    const problems = rejection(() => submit(json({ ids, predictions: sent })));
    expect(problems.find((p) => p.code === 'not_finite')).toMatchObject({ indexes: [0, 1], count: 2 });
    expect(problems.find((p) => p.code === 'non_numeric')).toEqual({
      code: 'non_numeric',
      message:
        '3 values are not numbers (write plain decimals such as 0.25 or 2.5e-1): predictions[2]: "0.5" (a string); predictions[3]: true (a boolean); predictions[4]: an object',
      indexes: [2, 3, 4],
      count: 3,
    });
  });

  it('names ids that are not strings, and unknown and duplicate ids, by index', () => {
    const sent: unknown[] = [...ids, 42, 'id_x', 'id_a'];
    const problems = rejection(() => submit(json({ ids: sent, predictions: [...values, 0.1, 0.2, 0.3] })));
    expect(problems.find((p) => p.code === 'invalid_id')).toMatchObject({ indexes: [6], message: expect.stringContaining('ids[6]: 42 (a number)') });
    expect(problems.find((p) => p.code === 'unknown_ids')).toMatchObject({ ids: ['id_x'], indexes: [7], count: 1 });
    expect(problems.find((p) => p.code === 'duplicate_ids')).toMatchObject({ ids: ['id_a'], indexes: [8], count: 1 });
  });
});
