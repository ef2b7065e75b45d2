import { z } from 'zod';
import { MALFORMED_PREDICATE, MAX_DEPTH, policySchema, predicateBranch, type PolicyDocument } from './schema.js';

export interface PolicyProblem {
  path: string;
  message: string;
}

export type ParsedPolicy = { ok: true; policy: PolicyDocument } | { ok: false; problems: PolicyProblem[] };

type Path = readonly PropertyKey[];

/** Validates a policy document; on failure every problem names where it is and what to write instead. */
export function parsePolicy(input: unknown): ParsedPolicy {
  const tooDeep = firstTooDeep(input, [], 0);
  if (tooDeep !== null) {
    return { ok: false, problems: [{ path: formatPath(tooDeep), message: `nested more than ${MAX_DEPTH} levels deep; flatten the predicate` }] };
  }
  const result = policySchema.safeParse(input, { error: describeIssue });
  if (result.success) return { ok: true, policy: result.data };
  const problems: PolicyProblem[] = [];
  collectProblems(result.error.issues, input, [], problems);
  return { ok: false, problems };
}

/** "rules[2].match.any[0].op" */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

// A predicate union fails in every branch; report only the branch the author's keys chose.
function collectProblems(issues: readonly z.core.$ZodIssue[], input: unknown, prefix: Path, out: PolicyProblem[]): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.message === MALFORMED_PREDICATE) {
      const value = valueAt(input, path);
      const branch = isRecord(value) ? predicateBranch(Object.keys(value)) : null;
      const chosen = branch === null ? undefined : issue.errors[branch];
      if (chosen !== undefined) collectProblems(chosen, input, path, out);
      else out.push({ path: formatPath(path), message: malformedMessage(value) });
      continue;
    }
    out.push({ path: formatPath(path), message: issue.message });
  }
}

function malformedMessage(value: unknown): string {
  if (value === undefined) return `required: ${MALFORMED_PREDICATE}`;
  if (!isRecord(value)) return `${MALFORMED_PREDICATE}; got ${describeValue(value)}`;
  const keys = Object.keys(value);
  return `${MALFORMED_PREDICATE}; got keys ${keys.length === 0 ? '(none)' : keys.join(', ')}`;
}

function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `required (${article(issue.expected)})` : `expected ${article(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'unrecognized_keys':
      return unknownKeysMessage(issue.keys, issue.inst);
    case 'invalid_value':
      return `${describeValue(issue.input)} is not allowed; expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_union':
      return issue.discriminator === undefined ? undefined : discriminatorMessage(issue.discriminator, issue.input, 'options' in issue && Array.isArray(issue.options) ? issue.options : []);
    case 'too_small':
      return boundMessage('at least', issue.origin, issue.minimum, issue.inclusive, issue.input);
    case 'too_big':
      return boundMessage('at most', issue.origin, issue.maximum, issue.inclusive, issue.input);
    default:
      return undefined;
  }
}

function unknownKeysMessage(keys: readonly string[], inst: unknown): string {
  const allowed = inst instanceof z.ZodObject ? Object.keys(inst.shape) : [];
  const quoted = keys.map((k) => `'${k}'`).join(', ');
  if (keys.includes('value') && allowed.includes('op') && !allowed.includes('value')) return `exists and missing take no value; remove 'value'`;
  const label = keys.length === 1 ? 'unknown key' : 'unknown keys';
  return allowed.length === 0 ? `${label} ${quoted}` : `${label} ${quoted}; allowed: ${allowed.join(', ')}`;
}

function discriminatorMessage(key: string, input: unknown, options: readonly unknown[]): string {
  const given = isRecord(input) ? input[key] : undefined;
  const expected = options.map((o) => String(o)).join(', ');
  return given === undefined ? `'${key}' is required; one of ${expected}` : `unknown ${key} ${describeValue(given)}; expected one of ${expected}`;
}

function boundMessage(word: string, origin: string, bound: number | bigint, inclusive: boolean | undefined, input: unknown): string {
  if (origin === 'array') return `needs ${word} ${bound} item${bound === 1 ? '' : 's'}`;
  if (origin === 'string') return `needs ${word} ${bound} character${bound === 1 ? '' : 's'}`;
  const relation = word === 'at least' ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<';
  return `must be ${relation} ${bound}, got ${describeValue(input)}`;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value; // undefined, a function or a symbol: never in parsed JSON
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) {
    if (Array.isArray(node) && typeof key === 'number') node = node[key];
    else if (isRecord(node) && typeof key === 'string') node = node[key];
    else return undefined;
  }
  return node;
}

// Bounded recursion so a hostile document cannot overflow the stack inside the schema.
function firstTooDeep(node: unknown, path: PropertyKey[], depth: number): Path | null {
  if (typeof node !== 'object' || node === null) return null;
  if (depth >= MAX_DEPTH) return path;
  const entries: [PropertyKey, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
  for (const [key, child] of entries) {
    const found = firstTooDeep(child, [...path, key], depth + 1);
    if (found !== null) return found;
  }
  return null;
}
