import type { PolicyDocument, PolicyRule } from './schema.js';

export interface RuleChange {
  id: string;
  /** the rule's keys whose values differ */
  fields: string[];
  from: PolicyRule;
  to: PolicyRule;
}

export interface PolicyDiff {
  rules: { added: PolicyRule[]; removed: PolicyRule[]; changed: RuleChange[] };
  /** every other top-level field that differs (name, description, mode, onMissingData, neutralize, groupCap) */
  fields: { field: string; from: unknown; to: unknown }[];
}

/** JSON with object keys sorted: two values are equal when their canonical texts are. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** What changed from one version to another, rules matched by id; `from` null diffs against an empty document. */
export function diffPolicies(from: PolicyDocument | null, to: PolicyDocument): PolicyDiff {
  const before = new Map((from?.rules ?? []).map((rule) => [rule.id, rule]));
  const after = new Map(to.rules.map((rule) => [rule.id, rule]));
  const added = to.rules.filter((rule) => !before.has(rule.id));
  const removed = (from?.rules ?? []).filter((rule) => !after.has(rule.id));
  const changed: RuleChange[] = [];
  for (const rule of to.rules) {
    const old = before.get(rule.id);
    if (old === undefined || same(old, rule)) continue;
    const keys = [...new Set([...Object.keys(old), ...Object.keys(rule)])].sort();
    changed.push({ id: rule.id, fields: keys.filter((k) => !same(old[k as keyof PolicyRule], rule[k as keyof PolicyRule])), from: old, to: rule });
  }
  const fields: PolicyDiff['fields'] = [];
  for (const field of ['name', 'description', 'mode', 'onMissingData', 'neutralize', 'groupCap'] as const) {
    const a = from?.[field] ?? null;
    const b = to[field] ?? null;
    if (!same(a, b)) fields.push({ field, from: a, to: b });
  }
  return { rules: { added, removed, changed }, fields };
}
