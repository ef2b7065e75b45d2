import type { UniverseRow } from '../universe.js';
import type { PolicyConflict } from './pipeline.js';
import type { Comparison, PolicyDocument, Predicate } from './schema.js';

/** A rule that is valid but probably not what its author meant: it names what no recent universe has. */
export interface PolicyWarning {
  /** where in the document, e.g. rules[1].match.any[0] */
  path: string;
  message: string;
}

/** What the recent universes hold, as far as a policy can name it. */
export interface UniverseVocabulary {
  eras: number[];
  /** distinct values per field: sector, industry, country, tags, attributes.<name> (string values only) */
  strings: Map<string, Set<string>>;
  /** attributes with at least one numeric value */
  numeric: Set<string>;
  /** every attribute name */
  attributes: Set<string>;
}

export function universeVocabulary(universes: readonly { era: number; rows: readonly UniverseRow[] }[]): UniverseVocabulary {
  const vocabulary: UniverseVocabulary = { eras: universes.map((u) => u.era), strings: new Map(), numeric: new Set(), attributes: new Set() };
  const add = (field: string, value: string | null) => {
    if (value === null || value === '') return;
    let set = vocabulary.strings.get(field);
    if (set === undefined) vocabulary.strings.set(field, (set = new Set()));
    set.add(value);
  };
  for (const { rows } of universes) {
    for (const row of rows) {
      add('sector', row.sector);
      add('industry', row.industry);
      add('country', row.country);
      for (const tag of row.tags) add('tags', tag);
      for (const [name, value] of Object.entries(row.attributes)) {
        vocabulary.attributes.add(name);
        if (typeof value === 'number') vocabulary.numeric.add(name);
        else add(`attributes.${name}`, value);
      }
    }
  }
  return vocabulary;
}

/**
 * Fields and values a policy names that no recent universe has: a misspelt attribute, a value in
 * the wrong case, a tag nobody carries. Such a rule is valid and matches nothing, silently.
 */
export function policyWarnings(policy: PolicyDocument, vocabulary: UniverseVocabulary): PolicyWarning[] {
  if (vocabulary.eras.length === 0) return [{ path: '', message: 'no era has a universe yet: fields and values could not be checked against data' }];
  const seen = `era${vocabulary.eras.length === 1 ? '' : 's'} ${vocabulary.eras.join(', ')}`;
  const warnings: PolicyWarning[] = [];
  const visit = (predicate: Predicate, path: string) => {
    if ('all' in predicate) predicate.all.forEach((p, i) => visit(p, `${path}.all[${i}]`));
    else if ('any' in predicate) predicate.any.forEach((p, i) => visit(p, `${path}.any[${i}]`));
    else if ('not' in predicate) visit(predicate.not, `${path}.not`);
    else warnings.push(...comparisonWarnings(predicate, path, vocabulary, seen));
  };
  policy.rules.forEach((rule, i) => visit(rule.match, `rules[${i}].match`));
  for (const key of ['neutralize', 'groupCap'] as const) {
    const by = policy[key]?.by;
    if (by !== undefined && !fieldExists(by, vocabulary)) warnings.push({ path: `${key}.by`, message: `${missingField(by, vocabulary)} (${seen})` });
  }
  return warnings;
}

function fieldExists(field: string, vocabulary: UniverseVocabulary): boolean {
  if (field === 'id') return true;
  if (field.startsWith('attributes.')) return vocabulary.attributes.has(field.slice('attributes.'.length));
  return vocabulary.strings.has(field);
}

function missingField(field: string, vocabulary: UniverseVocabulary): string {
  if (!field.startsWith('attributes.')) return `no id has ${field === 'tags' ? 'a tag' : field === 'industry' ? 'an industry' : `a ${field}`}`;
  const name = field.slice('attributes.'.length);
  const guess = closest(name, [...vocabulary.attributes]);
  return `no id has attribute '${name}'${guess === null ? '' : `; did you mean 'attributes.${guess}'?`}`;
}

function comparisonWarnings(comparison: Comparison, path: string, vocabulary: UniverseVocabulary, seen: string): PolicyWarning[] {
  const { field, op } = comparison;
  if (field === 'id') return [];
  if (!fieldExists(field, vocabulary)) {
    // A tag rule on data without any tag is worth saying, but differently: the tag itself is the point.
    if (field !== 'tags' || op !== 'contains') return [{ path, message: `${missingField(field, vocabulary)} (${seen}): the comparison never sees a value` }];
  }
  if (op === 'exists' || op === 'missing') return [];
  if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
    const name = field.slice('attributes.'.length);
    return vocabulary.numeric.has(name) || !vocabulary.attributes.has(name)
      ? []
      : [{ path, message: `attribute '${name}' holds only strings (${seen}): '${op}' compares numbers and never matches` }];
  }
  const values = comparison.op === 'in' || comparison.op === 'notIn' ? comparison.value : 'value' in comparison ? [comparison.value] : [];
  const known = vocabulary.strings.get(field) ?? new Set<string>();
  const problems: PolicyWarning[] = [];
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const found = op === 'prefix' ? [...known].some((v) => v.startsWith(value)) : known.has(value);
    if (found) continue;
    const folded = [...known].find((v) => (op === 'prefix' ? v.toLowerCase().startsWith(value.toLowerCase()) : v.toLowerCase() === value.toLowerCase()));
    const what = field === 'tags' ? 'tag' : `value of ${field}`;
    const hint = folded !== undefined ? `; the data has '${folded}' (values are case-sensitive)` : '';
    problems.push({ path, message: `no id has ${op === 'prefix' ? `a ${what} starting with` : `the ${what}`} '${value}' (${seen})${hint}` });
  }
  return problems;
}

/** The candidate at the smallest edit distance, if it is close (at most a third of the name). */
function closest(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/**
 * Constraints that leave an era's tradable ids fewer than 2 distinct values (or cannot all hold):
 * the published value would order nothing, so such a version cannot be activated.
 */
export function conflictWarnings(eras: readonly { era: number; conflict: PolicyConflict | null }[]): PolicyWarning[] {
  return eras.flatMap(({ era, conflict }) =>
    conflict === null ? [] : [{ path: conflict.paths.join(', '), message: `era ${era}: ${conflict.message}; this version cannot be activated` }],
  );
}
