import { describe, expect, it } from 'vitest';
import { indexLiveIds } from '../../src/ingest/aligned.js';
import { parseTarget } from '../../src/ingest/target.js';
import { csv, json, problemOf, rejection } from '../support/body-problems.js';

const universe = indexLiveIds(['n1', 'n2', 'n3', 'n4']);

describe('parseTarget', () => {
  it('aligns CSV targets to the universe, NaN where an id has none', () => {
    const parsed = parseTarget(csv('\uFEFFid,target\r\nn3,0.75\r\nn1,0\r\nn2,1\r\n'), universe);
    expect(parsed.count).toBe(3);
    expect(Array.from(parsed.aligned)).toEqual([0, 1, 0.75, Number.NaN]);
  });

  it('reads the JSON shape the same way, and allows a constant target', () => {
    const parsed = parseTarget(json({ ids: ['n3', 'n1', 'n2'], values: [0.5, 0.5, 0.5] }), universe);
    expect(Array.from(parsed.aligned)).toEqual([0.5, 0.5, 0.5, Number.NaN]);
    expect(parsed.count).toBe(3);
  });

  it('refuses values outside [0, 1] with no tolerance', () => {
    expect(problemOf(() => parseTarget(csv('id,target\nn1,1.0000001\nn2,-0.0000001\n'), universe, { era: 9 }), 'out_of_range')).toEqual({
      code: 'out_of_range',
      message: '2 values are outside [0, 1]: line 2: 1.0000001; line 3: -0.0000001',
      lines: [2, 3],
      count: 2,
    });
  });

  it('refuses non-finite and non-numeric values', () => {
    const problems = rejection(() => parseTarget(json({ ids: ['n1', 'n2', 'n3'], values: [null, '0.5', 0.5] }), universe));
    expect(problems.map((problem) => [problem.code, problem.indexes])).toEqual([
      ['non_numeric', [1]],
      ['not_finite', [0]],
    ]);
    expect(problems[1].message).toBe('values[0]: null is not a finite number; every target value must be a number in [0, 1]');
  });

  it('refuses unknown and duplicate ids', () => {
    const problems = rejection(() => parseTarget(csv('id,target\nn1,0\nzz,1\nn1,0.5\n'), universe, { era: 9 }));
    expect(problems).toEqual([
      { code: 'unknown_ids', message: "1 id is not in era 9's universe: zz", ids: ['zz'], lines: [3], count: 1 },
      { code: 'duplicate_ids', message: '1 id appears more than once: n1; remove the repeats at line 4', ids: ['n1'], lines: [4], count: 1 },
    ]);
  });

  it('refuses an empty body and a header without rows', () => {
    for (const body of [csv(''), csv('id,target\n'), json({ ids: [], values: [] })]) {
      expect(rejection(() => parseTarget(body, universe))).toEqual([expect.objectContaining({ code: 'empty_body', count: 1 })]);
    }
  });

  it('refuses the wrong header and extra columns', () => {
    expect(problemOf(() => parseTarget(csv('id,prediction\nn1,0\n'), universe), 'missing_header').message).toContain('the first line must be the header "id,target"');
    expect(problemOf(() => parseTarget(csv('id,target,\nn1,0,\n'), universe), 'extra_columns').message).toBe(
      'remove the extra column "" (an unnamed column usually comes from a trailing comma); a target upload has exactly the columns id,target',
    );
  });

  it('refuses other JSON shapes, naming the accepted one', () => {
    expect(problemOf(() => parseTarget(json({ rows: [] }), universe), 'invalid_shape').message).toBe(
      'the body is an object; a target upload in JSON is {"ids": [...], "values": [...]}',
    );
  });
});
