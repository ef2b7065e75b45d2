import { describe, expect, it } from 'vitest';
import { compilePredicate, evaluatePredicate, type Predicate, type Verdict } from '../../src/domain/policy/index.js';
import type { UniverseRow } from '../../src/domain/universe.js';

const full: UniverseRow = {
  id: 'id01',
  sector: '30',
  industry: '302030',
  country: 'US',
  tags: ['tobacco', 'defense'],
  attributes: { coal: 0.02, controversy: 4, rating: 'AA', blank: '', broken: Number.NaN },
};
const bare: UniverseRow = { id: 'id02', sector: null, industry: '', country: null, tags: [], attributes: {} };

// [predicate, verdict on `full`, verdict on `bare`]
const cases: [string, Predicate, Verdict, Verdict][] = [
  ['eq match', { field: 'sector', op: 'eq', value: '30' }, 'match', 'missingData'],
  ['eq no match', { field: 'sector', op: 'eq', value: '10' }, 'noMatch', 'missingData'],
  ['eq on a numeric attribute', { field: 'attributes.controversy', op: 'eq', value: 4 }, 'match', 'missingData'],
  ['eq never coerces types', { field: 'attributes.controversy', op: 'eq', value: '4' }, 'noMatch', 'missingData'],
  ['eq on a string attribute', { field: 'attributes.rating', op: 'eq', value: 'AA' }, 'match', 'missingData'],
  ['eq on id, never missing', { field: 'id', op: 'eq', value: 'id01' }, 'match', 'noMatch'],
  ['neq', { field: 'country', op: 'neq', value: 'GB' }, 'match', 'missingData'],
  ['neq equal', { field: 'country', op: 'neq', value: 'US' }, 'noMatch', 'missingData'],
  ['in', { field: 'country', op: 'in', value: ['GB', 'US'] }, 'match', 'missingData'],
  ['in numbers', { field: 'attributes.controversy', op: 'in', value: [3, 5] }, 'noMatch', 'missingData'],
  ['notIn', { field: 'country', op: 'notIn', value: ['US'] }, 'noMatch', 'missingData'],
  ['notIn other', { field: 'country', op: 'notIn', value: ['GB'] }, 'match', 'missingData'],
  ['gt', { field: 'attributes.coal', op: 'gt', value: 0.01 }, 'match', 'missingData'],
  ['gt at the bound', { field: 'attributes.coal', op: 'gt', value: 0.02 }, 'noMatch', 'missingData'],
  ['gte at the bound', { field: 'attributes.coal', op: 'gte', value: 0.02 }, 'match', 'missingData'],
  ['lt at the bound', { field: 'attributes.coal', op: 'lt', value: 0.02 }, 'noMatch', 'missingData'],
  ['lte at the bound', { field: 'attributes.coal', op: 'lte', value: 0.02 }, 'match', 'missingData'],
  ['gt on a string attribute cannot compare', { field: 'attributes.rating', op: 'gt', value: 1 }, 'missingData', 'missingData'],
  ['gt on NaN', { field: 'attributes.broken', op: 'gt', value: 0 }, 'missingData', 'missingData'],
  ['prefix covers a GICS level', { field: 'industry', op: 'prefix', value: '3020' }, 'match', 'missingData'],
  ['prefix elsewhere', { field: 'industry', op: 'prefix', value: '45' }, 'noMatch', 'missingData'],
  ['prefix on a number cannot compare', { field: 'attributes.coal', op: 'prefix', value: '0' }, 'missingData', 'missingData'],
  ['contains', { field: 'tags', op: 'contains', value: 'tobacco' }, 'match', 'noMatch'],
  ['contains absent tag', { field: 'tags', op: 'contains', value: 'coal' }, 'noMatch', 'noMatch'],
  ['exists', { field: 'sector', op: 'exists' }, 'match', 'noMatch'],
  ['exists, empty string', { field: 'industry', op: 'exists' }, 'match', 'noMatch'],
  ['exists attribute', { field: 'attributes.coal', op: 'exists' }, 'match', 'noMatch'],
  ['exists, empty attribute', { field: 'attributes.blank', op: 'exists' }, 'noMatch', 'noMatch'],
  ['exists, NaN attribute', { field: 'attributes.broken', op: 'exists' }, 'noMatch', 'noMatch'],
  ['exists tags', { field: 'tags', op: 'exists' }, 'match', 'noMatch'],
  ['missing', { field: 'country', op: 'missing' }, 'noMatch', 'match'],
  ['missing tags', { field: 'tags', op: 'missing' }, 'noMatch', 'match'],
  ['missing attribute', { field: 'attributes.other', op: 'missing' }, 'match', 'match'],
];

describe('comparisons', () => {
  it.each(cases)('%s', (_name, predicate, onFull, onBare) => {
    const verdictOf = compilePredicate(predicate);
    expect([verdictOf(full), verdictOf(bare)]).toEqual([onFull, onBare]);
  });
});

const yes: Predicate = { field: 'id', op: 'eq', value: 'id01' };
const no: Predicate = { field: 'id', op: 'eq', value: 'other' };
const unknown: Predicate = { field: 'attributes.other', op: 'gt', value: 0 };

describe('all / any / not follow three-valued logic', () => {
  it.each<[string, Predicate, Verdict]>([
    ['all of matches', { all: [yes, yes] }, 'match'],
    ['all with a no', { all: [yes, no, unknown] }, 'noMatch'],
    ['all with an unknown', { all: [yes, unknown] }, 'missingData'],
    ['any with a yes', { any: [unknown, no, yes] }, 'match'],
    ['any with an unknown', { any: [no, unknown] }, 'missingData'],
    ['any of noes', { any: [no, no] }, 'noMatch'],
    ['not yes', { not: yes }, 'noMatch'],
    ['not no', { not: no }, 'match'],
    ['not unknown stays unknown', { not: unknown }, 'missingData'],
    ['nested', { any: [{ not: { all: [yes, no] } }, unknown] }, 'match'],
  ])('%s', (_name, predicate, expected) => {
    expect(evaluatePredicate(predicate, full)).toBe(expected);
  });

  it('neq and not(eq) agree on every row, missing data included', () => {
    const rows = [full, bare, { ...bare, sector: '30' }, { ...bare, sector: '10' }];
    const neq = compilePredicate({ field: 'sector', op: 'neq', value: '30' });
    const notEq = compilePredicate({ not: { field: 'sector', op: 'eq', value: '30' } });
    expect(rows.map(neq)).toEqual(['noMatch', 'missingData', 'noMatch', 'match']);
    expect(rows.map(notEq)).toEqual(rows.map(neq));
  });
});

describe('compiled predicates', () => {
  it('evaluate 6,000 ids against the reference tobacco rule', () => {
    const tobacco = compilePredicate({
      any: [
        { field: 'industry', op: 'prefix', value: '302030' },
        { field: 'tags', op: 'contains', value: 'tobacco' },
      ],
    });
    const rows: UniverseRow[] = Array.from({ length: 6000 }, (_, i) => ({
      id: `id${i}`,
      sector: String(10 + (i % 11) * 5),
      industry: i % 100 === 0 ? '302030' : '101010',
      country: 'US',
      tags: i % 250 === 0 ? ['tobacco'] : ['x'],
      attributes: {},
    }));
    let matched = 0;
    for (const row of rows) if (tobacco(row) === 'match') matched++;
    expect(matched).toBe(60 + 24 - 12);
  });
});
