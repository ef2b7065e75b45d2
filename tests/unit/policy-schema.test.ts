import { describe, expect, it } from 'vitest';
import { formatPath, parsePolicy, type PolicyProblem } from '../../src/domain/policy/index.js';

const designExample = {
  name: 'ethical-core',
  description: 'PAB-style product exclusions, sector neutral',
  mode: 'enforce',
  onMissingData: 'ignore',
  rules: [
    {
      id: 'tobacco',
      description: 'GICS 302030 or tobacco tag',
      match: {
        any: [
          { field: 'industry', op: 'prefix', value: '302030' },
          { field: 'tags', op: 'contains', value: 'tobacco' },
        ],
      },
      action: { type: 'exclude' },
    },
    {
      id: 'coal-1pct',
      match: { field: 'attributes.thermal_coal_revenue_share', op: 'gte', value: 0.01 },
      action: { type: 'exclude', side: 'long' },
    },
    { id: 'controversy', match: { field: 'attributes.controversy', op: 'gte', value: 4 }, action: { type: 'scale', multiplier: 0.5 } },
    { id: 'weapons-watch', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
  ],
  neutralize: { by: 'sector', proportion: 1.0 },
  groupCap: { by: 'sector', maxAbsMean: 0.1 },
};

function ruleWith(overrides: Record<string, unknown>): Record<string, unknown> {
  return { id: 'r', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'exclude' }, ...overrides };
}

function problemsOf(input: unknown): PolicyProblem[] {
  const parsed = parsePolicy(input);
  if (parsed.ok) throw new Error('expected the policy to be rejected');
  return parsed.problems;
}

const OPS = 'eq, neq, in, notIn, gt, gte, lt, lte, prefix, contains, exists, missing';

describe('parsePolicy accepts', () => {
  it('the docs/policies.md example, with side filled in', () => {
    const parsed = parsePolicy(designExample);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.policy.rules[0].action).toEqual({ type: 'exclude', side: 'both' });
    expect(parsed.policy.rules[1].action).toEqual({ type: 'exclude', side: 'long' });
    expect(parsed.policy.rules.map((r) => r.id)).toEqual(['tobacco', 'coal-1pct', 'controversy', 'weapons-watch']);
    expect(parsed.policy.groupCap).toEqual({ by: 'sector', maxAbsMean: 0.1 });
  });

  it('a minimal document, filling every default', () => {
    const parsed = parsePolicy({ name: 'neutral', rules: [], neutralize: { by: 'attributes.style_bucket' } });
    expect(parsed).toEqual({
      ok: true,
      policy: { name: 'neutral', mode: 'enforce', onMissingData: 'ignore', rules: [], neutralize: { by: 'attributes.style_bucket', proportion: 1 } },
    });
  });

  it('nested all/any/not with every op', () => {
    const match = {
      all: [
        { any: [{ field: 'id', op: 'in', value: ['a', 'b'] }, { field: 'country', op: 'notIn', value: ['US'] }] },
        { not: { field: 'sector', op: 'neq', value: '10' } },
        { field: 'attributes.x', op: 'gt', value: 1 },
        { field: 'attributes.x', op: 'lt', value: 2 },
        { field: 'attributes.x', op: 'lte', value: 2 },
        { field: 'attributes.rating', op: 'eq', value: 'AA' },
        { field: 'attributes.score', op: 'in', value: [1, 2] },
        { field: 'tags', op: 'exists' },
        { field: 'industry', op: 'missing' },
      ],
    };
    const parsed = parsePolicy({ name: 'p', rules: [{ id: 'r', match, action: { type: 'observe' } }] });
    expect(parsed.ok && parsed.policy.rules[0].match).toEqual(match);
  });
});

describe('parsePolicy rejects, saying where and what to write', () => {
  it('extra keys at the top, in a rule, in an action and in a comparison', () => {
    expect(problemsOf({ name: 'p', rules: [], extra: 1 })).toEqual([
      { path: '', message: "unknown key 'extra'; allowed: name, description, mode, onMissingData, rules, neutralize, groupCap" },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ foo: 1, bar: 2 })] })).toEqual([
      { path: 'rules[0]', message: "unknown keys 'foo', 'bar'; allowed: id, description, rationale, reference, match, action" },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'observe', side: 'long' } })] })).toEqual([
      { path: 'rules[0].action', message: "unknown key 'side'; allowed: type" },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ match: { field: 'sector', op: 'eq', value: '10', values: [] } })] })).toEqual([
      { path: 'rules[0].match', message: "unknown key 'values'; allowed: field, op, value" },
    ]);
  });

  it('an unknown field', () => {
    expect(problemsOf({ name: 'p', rules: [ruleWith({ match: { field: 'sectr', op: 'eq', value: '10' } })] })).toEqual([
      { path: 'rules[0].match.field', message: 'unknown field "sectr"; use id, sector, industry, country, tags or attributes.<name> (name of letters, digits, _)' },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ match: { field: 'attributes.a-b', op: 'exists' } })] })[0].path).toBe('rules[0].match.field');
  });

  it('an unknown or absent op, deep inside a predicate', () => {
    expect(problemsOf({ name: 'p', rules: [ruleWith({ match: { any: [{ field: 'industry', op: 'prefx', value: '30' }] } })] })).toEqual([
      { path: 'rules[0].match.any[0].op', message: `unknown op "prefx"; expected one of ${OPS}` },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ match: { not: { all: [{ field: 'sector', value: '10' }] } } })] })).toEqual([
      { path: 'rules[0].match.not.all[0].op', message: `'op' is required; one of ${OPS}` },
    ]);
  });

  it('an unknown action', () => {
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'ban' } })] })).toEqual([
      { path: 'rules[0].action.type', message: 'unknown type "ban"; expected one of exclude, scale, observe' },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'exclude', side: 'left' } })] })).toEqual([
      { path: 'rules[0].action.side', message: '"left" is not allowed; expected one of both, long, short' },
    ]);
  });

  it('a multiplier outside [0, 1] or absent', () => {
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'scale', multiplier: 1.5 } })] })).toEqual([
      { path: 'rules[0].action.multiplier', message: 'must be ≤ 1, got 1.5' },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'scale', multiplier: -0.1 } })] })).toEqual([
      { path: 'rules[0].action.multiplier', message: 'must be ≥ 0, got -0.1' },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ action: { type: 'scale' } })] })).toEqual([
      { path: 'rules[0].action.multiplier', message: 'required (a number)' },
    ]);
  });

  it('a proportion outside [0, 1], a non-positive cap and an ungroupable field', () => {
    expect(problemsOf({ name: 'p', rules: [], neutralize: { by: 'tags', proportion: 2 }, groupCap: { by: 'sector', maxAbsMean: 0 } })).toEqual([
      { path: 'neutralize.by', message: 'cannot group by "tags"; use sector, industry, country or attributes.<name>' },
      { path: 'neutralize.proportion', message: 'must be ≤ 1, got 2' },
      { path: 'groupCap.maxAbsMean', message: 'must be > 0, got 0' },
    ]);
    expect(problemsOf({ name: 'p', rules: [], neutralize: { by: 'sector', proportion: -0.5 } })).toEqual([
      { path: 'neutralize.proportion', message: 'must be ≥ 0, got -0.5' },
    ]);
  });

  it('duplicate rule ids, naming the duplicate', () => {
    expect(problemsOf({ name: 'p', rules: [ruleWith({ id: 'a' }), ruleWith({ id: 'b' }), ruleWith({ id: 'a' })] })).toEqual([
      { path: 'rules[2].id', message: "duplicate rule id 'a' (already used by rules[0])" },
    ]);
    expect(problemsOf({ name: 'p', rules: [ruleWith({ id: 'a' }), ruleWith({ id: 'a', action: { type: 'scale', multiplier: 2 } })] })).toEqual([
      { path: 'rules[1].action.multiplier', message: 'must be ≤ 1, got 2' },
      { path: 'rules[1].id', message: "duplicate rule id 'a' (already used by rules[0])" },
    ]);
  });

  it('malformed predicates', () => {
    const problemsFor = (match: unknown) => problemsOf({ name: 'p', rules: [ruleWith({ match })] });
    expect(problemsFor('sector = 10')).toEqual([
      { path: 'rules[0].match', message: 'a predicate is exactly one of {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}; got "sector = 10"' },
    ]);
    expect(problemsFor({})).toEqual([
      { path: 'rules[0].match', message: 'a predicate is exactly one of {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}; got keys (none)' },
    ]);
    expect(problemsFor({ all: [{ field: 'sector', op: 'eq', value: '10' }], not: { field: 'sector', op: 'exists' } })).toEqual([
      { path: 'rules[0].match', message: 'a predicate is exactly one of {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}; got keys all, not' },
    ]);
    expect(problemsOf({ name: 'p', rules: [{ id: 'r', action: { type: 'observe' } }] })).toEqual([
      { path: 'rules[0].match', message: 'required: a predicate is exactly one of {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}' },
    ]);
    expect(problemsFor({ any: [] })).toEqual([{ path: 'rules[0].match.any', message: 'needs at least 1 item' }]);
    expect(problemsFor({ all: { field: 'sector', op: 'exists' } })).toEqual([{ path: 'rules[0].match.all', message: 'expected an array, got an object' }]);
  });

  it('values of the wrong type for the op', () => {
    const problemsFor = (match: unknown) => problemsOf({ name: 'p', rules: [ruleWith({ match })] });
    expect(problemsFor({ field: 'country', op: 'in', value: 'US' })).toEqual([{ path: 'rules[0].match.value', message: 'expected an array, got "US"' }]);
    expect(problemsFor({ field: 'country', op: 'notIn', value: [] })).toEqual([{ path: 'rules[0].match.value', message: 'needs at least 1 item' }]);
    expect(problemsFor({ field: 'attributes.x', op: 'gte', value: '0.01' })).toEqual([{ path: 'rules[0].match.value', message: 'expected a number, got "0.01"' }]);
    expect(problemsFor({ field: 'industry', op: 'prefix', value: 30 })).toEqual([{ path: 'rules[0].match.value', message: 'expected a string, got 30' }]);
    expect(problemsFor({ field: 'sector', op: 'exists', value: true })).toEqual([{ path: 'rules[0].match', message: "exists and missing take no value; remove 'value'" }]);
    expect(problemsFor({ field: 'sector', op: 'eq', value: { code: 10 } })).toEqual([{ path: 'rules[0].match.value', message: 'expected a string or a number' }]);
    expect(problemsFor({ field: 'sector', op: 'eq', value: 10 })).toEqual([{ path: 'rules[0].match.value', message: 'field \'sector\' holds strings; quote the value (e.g. "10")' }]);
  });

  it('ops on fields they do not apply to', () => {
    const problemsFor = (match: unknown) => problemsOf({ name: 'p', rules: [ruleWith({ match })] });
    expect(problemsFor({ field: 'sector', op: 'gt', value: 10 })).toEqual([
      { path: 'rules[0].match.field', message: "field 'sector' holds codes, not numbers; op 'gt' applies to attributes.<name> only" },
    ]);
    expect(problemsFor({ field: 'industry', op: 'contains', value: '30' })).toEqual([
      { path: 'rules[0].match.field', message: "field 'industry' is not a tag list; contains only applies to tags" },
    ]);
    expect(problemsFor({ field: 'tags', op: 'eq', value: 'tobacco' })).toEqual([
      { path: 'rules[0].match.field', message: "op 'eq' does not apply to tags; use contains (with any/not for several tags)" },
    ]);
  });

  it('bad names, modes and documents', () => {
    expect(problemsOf({ name: 'Ethical Core', mode: 'dry-run', onMissingData: 'skip', rules: [ruleWith({ id: '-x' })] })).toEqual([
      { path: 'name', message: 'invalid policy name; use 1–64 characters of a-z, 0-9, _ or -, starting with a letter or digit' },
      { path: 'mode', message: '"dry-run" is not allowed; expected one of enforce, shadow' },
      { path: 'onMissingData', message: '"skip" is not allowed; expected one of ignore, exclude' },
      { path: 'rules[0].id', message: 'invalid rule id; use 1–64 characters of a-z, 0-9, _ or -, starting with a letter or digit' },
    ]);
    expect(problemsOf(null)).toEqual([{ path: '', message: 'expected an object, got null' }]);
    expect(problemsOf({ name: 'p' })).toEqual([{ path: 'rules', message: 'required (an array)' }]);
  });

  it('predicates nested deeper than the stack should go, before the schema sees them', () => {
    let match: unknown = { field: 'sector', op: 'exists' };
    for (let i = 0; i < 10_000; i++) match = { not: match };
    const problems = problemsOf({ name: 'p', rules: [ruleWith({ match })] });
    expect(problems).toEqual([{ path: `rules[0].match${'.not'.repeat(61)}`, message: 'nested more than 64 levels deep; flatten the predicate' }]);
  });
});

describe('formatPath', () => {
  it('writes indices in brackets and keys with dots', () => {
    expect(formatPath(['rules', 2, 'match', 'any', 0, 'op'])).toBe('rules[2].match.any[0].op');
    expect(formatPath([])).toBe('');
  });
});
