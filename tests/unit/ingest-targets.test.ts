import { describe, expect, it } from 'vitest';
import { indexLiveIds } from '../../src/ingest/aligned.js';
import { parseTargets } from '../../src/ingest/targets.js';
import { csv, json, problemOf, rejection } from '../support/body-problems.js';

const universe = indexLiveIds(['n1', 'n2', 'n3', 'n4']);

describe('parseTargets', () => {
  it('reads every CSV column as a target aligned to the universe, NaN where an id has none', () => {
    const parsed = parseTargets(csv('id,ender_20,cyrus_60\nn3,0.75,0\nn1,0,1\n'), universe);
    expect(parsed.map((t) => [t.name, t.count, Array.from(t.aligned)])).toEqual([
      ['ender_20', 2, [0, NaN, 0.75, NaN]],
      ['cyrus_60', 2, [1, NaN, 0, NaN]],
    ]);
  });

  it('reads the JSON shape the same way', () => {
    const parsed = parseTargets(json({ ids: ['n3', 'n1'], targets: { ender_20: [0.75, 0], cyrus_60: [0, 1] } }), universe);
    expect(parsed.map((t) => [t.name, Array.from(t.aligned)])).toEqual([
      ['ender_20', [0, NaN, 0.75, NaN]],
      ['cyrus_60', [1, NaN, 0, NaN]],
    ]);
  });

  it('names the column of a bad value, and reports an id problem once for all columns', () => {
    const problems = rejection(() => parseTargets(csv('id,a,b\nn1,0,1.5\nzz,0,0\nn2,x,0\n'), universe, { era: 7 }));
    expect(problems).toEqual([
      { code: 'unknown_ids', message: "1 id is not in era 7's universe: zz", ids: ['zz'], lines: [3], count: 1 },
      { code: 'non_numeric', message: 'column "a": line 4: "x" is not a number; write plain decimals such as 0.25 or 2.5e-1', lines: [4], column: 'a', count: 1 },
      { code: 'out_of_range', message: 'column "b": line 2: 1.5 is outside [0, 1]; every target value must be a number in [0, 1]', lines: [2], column: 'b', count: 1 },
    ]);
  });

  it('names the column in JSON through its path, and a column of the wrong length', () => {
    const problems = rejection(() => parseTargets(json({ ids: ['n1', 'n2'], targets: { a: [0, 2], b: [0] } }), universe));
    expect(problems.map((p) => [p.code, p.column, p.message])).toEqual([
      ['length_mismatch', 'b', '"ids" has 2 entries but "targets.b" has 1; they must pair up one to one'],
      ['out_of_range', 'a', 'targets.a[1]: 2 is outside [0, 1]; every target value must be a number in [0, 1]'],
    ]);
  });

  it('refuses bad headers: no target column, bad or repeated names', () => {
    expect(problemOf(() => parseTargets(csv('id\nn1\n'), universe), 'missing_header').message).toContain('naming at least one target');
    expect(problemOf(() => parseTargets(csv('target,id\n0,n1\n'), universe), 'missing_header').count).toBe(1);
    expect(problemOf(() => parseTargets(csv('id,a-b\nn1,0\n'), universe), 'invalid_target_name').message).toBe(
      '1 target name is not 1–64 characters of A–Z a–z 0–9 _: "a-b"',
    );
    expect(problemOf(() => parseTargets(csv('id,a,a\nn1,0,0\n'), universe), 'duplicate_columns').message).toBe('1 target appears more than once: "a"; send each target once');
  });

  it('refuses rows of the wrong width, duplicates, an empty body and other JSON shapes', () => {
    expect(problemOf(() => parseTargets(csv('id,a,b\nn1,0\nn2,0,0\n'), universe), 'bad_row').lines).toEqual([2]);
    expect(problemOf(() => parseTargets(csv('id,a\nn1,0\nn1,1\n'), universe), 'duplicate_ids').ids).toEqual(['n1']);
    expect(problemOf(() => parseTargets(csv(''), universe), 'empty_body').count).toBe(1);
    expect(problemOf(() => parseTargets(csv('id,a\n'), universe), 'empty_body').count).toBe(1);
    expect(problemOf(() => parseTargets(json({ ids: [], values: [] }), universe), 'invalid_shape').message).toContain('{"ids": [...], "targets": {"<name>": [...], ...}}');
    expect(problemOf(() => parseTargets(json({ ids: ['n1'], targets: {} }), universe), 'invalid_shape').message).toContain('names no target');
  });
});
