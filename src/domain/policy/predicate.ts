import type { UniverseRow } from '../universe.js';
import type { Comparison, Predicate } from './schema.js';

/**
 * Three-valued (Kleene) outcome: 'missingData' means the answer depends on a value the id lacks.
 * all/any/not propagate it like SQL NULL, so `neq x` and `not(eq x)` always agree.
 */
export type Verdict = 'match' | 'noMatch' | 'missingData';

export type CompiledPredicate = (row: UniverseRow) => Verdict;

type Scalar = string | number;
type ScalarReader = (row: UniverseRow) => Scalar | undefined;

export function compilePredicate(predicate: Predicate): CompiledPredicate {
  if ('all' in predicate) return compileAll(predicate.all.map(compilePredicate));
  if ('any' in predicate) return compileAny(predicate.any.map(compilePredicate));
  if ('not' in predicate) return compileNot(compilePredicate(predicate.not));
  return compileComparison(predicate);
}

export function evaluatePredicate(predicate: Predicate, row: UniverseRow): Verdict {
  return compilePredicate(predicate)(row);
}

function compileAll(parts: CompiledPredicate[]): CompiledPredicate {
  return (row) => {
    let verdict: Verdict = 'match';
    for (const part of parts) {
      const v = part(row);
      if (v === 'noMatch') return 'noMatch';
      if (v === 'missingData') verdict = 'missingData';
    }
    return verdict;
  };
}

function compileAny(parts: CompiledPredicate[]): CompiledPredicate {
  return (row) => {
    let verdict: Verdict = 'noMatch';
    for (const part of parts) {
      const v = part(row);
      if (v === 'match') return 'match';
      if (v === 'missingData') verdict = 'missingData';
    }
    return verdict;
  };
}

function compileNot(inner: CompiledPredicate): CompiledPredicate {
  return (row) => {
    const v = inner(row);
    return v === 'match' ? 'noMatch' : v === 'noMatch' ? 'match' : 'missingData';
  };
}

function compileComparison(comparison: Comparison): CompiledPredicate {
  if (comparison.field === 'tags') return compileTags(comparison);
  const read = scalarReader(comparison.field);
  switch (comparison.op) {
    case 'exists':
      return (row) => (read(row) === undefined ? 'noMatch' : 'match');
    case 'missing':
      return (row) => (read(row) === undefined ? 'match' : 'noMatch');
    case 'eq':
    case 'neq':
      return compareWith(read, comparison.op === 'eq', (v) => v === comparison.value);
    case 'in':
    case 'notIn': {
      const values = new Set<Scalar>(comparison.value);
      return compareWith(read, comparison.op === 'in', (v) => values.has(v));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compileOrdering(read, comparison.op, comparison.value);
    case 'prefix': {
      const start = comparison.value;
      return (row) => {
        const v = read(row);
        if (typeof v !== 'string') return 'missingData';
        return v.startsWith(start) ? 'match' : 'noMatch';
      };
    }
    case 'contains':
      throw new Error(`op 'contains' applies to tags only, not '${comparison.field}'`);
  }
}

function compareWith(read: ScalarReader, positive: boolean, test: (v: Scalar) => boolean): CompiledPredicate {
  return (row) => {
    const v = read(row);
    if (v === undefined) return 'missingData';
    return test(v) === positive ? 'match' : 'noMatch';
  };
}

function compileOrdering(read: ScalarReader, op: 'gt' | 'gte' | 'lt' | 'lte', bound: number): CompiledPredicate {
  const test = op === 'gt' ? (v: number) => v > bound : op === 'gte' ? (v: number) => v >= bound : op === 'lt' ? (v: number) => v < bound : (v: number) => v <= bound;
  return (row) => {
    const v = read(row);
    // A string where a number is expected cannot be compared: treat it as missing data.
    if (typeof v !== 'number') return 'missingData';
    return test(v) ? 'match' : 'noMatch';
  };
}

function compileTags(comparison: Comparison): CompiledPredicate {
  switch (comparison.op) {
    case 'exists':
      return (row) => (row.tags.length === 0 ? 'noMatch' : 'match');
    case 'missing':
      return (row) => (row.tags.length === 0 ? 'match' : 'noMatch');
    case 'contains': {
      const tag = comparison.value;
      // An empty tag list is known data (the id has no tags), never missing data.
      return (row) => (row.tags.includes(tag) ? 'match' : 'noMatch');
    }
    default:
      throw new Error(`op '${comparison.op}' does not apply to tags`);
  }
}

/** Empty strings, NaN and absent attributes read as missing (undefined). */
export function scalarReader(field: string): ScalarReader {
  switch (field) {
    case 'id':
      return (row) => row.id;
    case 'sector':
      return (row) => presentString(row.sector);
    case 'industry':
      return (row) => presentString(row.industry);
    case 'country':
      return (row) => presentString(row.country);
  }
  if (!field.startsWith('attributes.')) throw new Error(`field '${field}' is not a scalar field`);
  const name = field.slice('attributes.'.length);
  return (row) => {
    const v = Object.hasOwn(row.attributes, name) ? row.attributes[name] : undefined;
    if (typeof v === 'number') return Number.isNaN(v) ? undefined : v;
    return presentString(v);
  };
}

function presentString(v: string | null | undefined): string | undefined {
  return v === null || v === undefined || v === '' ? undefined : v;
}
