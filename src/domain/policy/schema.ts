import { z } from 'zod';

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FIELD_PATTERN = /^(id|sector|industry|country|tags|attributes\.[A-Za-z0-9_]+)$/;
const GROUP_FIELD_PATTERN = /^(sector|industry|country|attributes\.[A-Za-z0-9_]+)$/;
const ATTRIBUTE_PREFIX = 'attributes.';

export const MAX_RULES = 200;
export const MAX_LIST_VALUES = 10_000;
// JSON levels: each predicate level costs two (the all/any array and its object).
export const MAX_DEPTH = 64;

const nameRule = 'use 1–64 characters of a-z, 0-9, _ or -, starting with a letter or digit';

const field = z.string().regex(FIELD_PATTERN, {
  error: (iss) =>
    `unknown field ${JSON.stringify(iss.input)}; use id, sector, industry, country, tags or attributes.<name> (name of letters, digits, _)`,
});

const groupField = z.string().regex(GROUP_FIELD_PATTERN, {
  error: (iss) =>
    `cannot group by ${JSON.stringify(iss.input)}; use sector, industry, country or attributes.<name>`,
});

const scalar = z.union([z.string(), z.number()], { error: 'expected a string or a number' });

const equality = z.strictObject({ field, op: z.enum(['eq', 'neq']), value: scalar });
const membership = z.strictObject({
  field,
  op: z.enum(['in', 'notIn']),
  value: z.array(scalar).min(1).max(MAX_LIST_VALUES),
});
const ordering = z.strictObject({ field, op: z.enum(['gt', 'gte', 'lt', 'lte']), value: z.number() });
const prefix = z.strictObject({ field, op: z.literal('prefix'), value: z.string().min(1) });
const contains = z.strictObject({ field, op: z.literal('contains'), value: z.string().min(1) });
const presence = z.strictObject({ field, op: z.enum(['exists', 'missing']) });

const comparisonOptions = z.discriminatedUnion('op', [equality, membership, ordering, prefix, contains, presence]);

export const comparisonSchema = comparisonOptions.superRefine((comparison, ctx) => {
  const problem = fieldOpProblem(comparison);
  if (problem !== null) ctx.addIssue({ code: 'custom', path: [problem.key], message: problem.message });
});

export type Comparison = z.infer<typeof comparisonSchema>;

function fieldOpProblem(comparison: z.infer<typeof comparisonOptions>): { key: 'field' | 'value'; message: string } | null {
  const { field: name, op } = comparison;
  const isAttribute = name.startsWith(ATTRIBUTE_PREFIX);
  if (op === 'exists' || op === 'missing') return null;
  if (name === 'tags') {
    return op === 'contains' ? null : { key: 'field', message: `op '${op}' does not apply to tags; use contains (with any/not for several tags)` };
  }
  if (op === 'contains') return { key: 'field', message: `field '${name}' is not a tag list; contains only applies to tags` };
  if ((op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') && !isAttribute) {
    return { key: 'field', message: `field '${name}' holds codes, not numbers; op '${op}' applies to attributes.<name> only` };
  }
  const values = comparison.op === 'in' || comparison.op === 'notIn' ? comparison.value : comparison.op === 'eq' || comparison.op === 'neq' ? [comparison.value] : [];
  if (!isAttribute && values.some((v) => typeof v === 'number')) {
    return { key: 'value', message: `field '${name}' holds strings; quote the value (e.g. "10")` };
  }
  return null;
}

export const MALFORMED_PREDICATE = 'a predicate is exactly one of {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}';

const allOf = z.strictObject({
  get all(): z.ZodArray<typeof predicateSchema> {
    return z.array(predicateSchema).min(1);
  },
});
const anyOf = z.strictObject({
  get any(): z.ZodArray<typeof predicateSchema> {
    return z.array(predicateSchema).min(1);
  },
});
const notOf = z.strictObject({
  get not(): typeof predicateSchema {
    return predicateSchema;
  },
});

// The message marks this union so parsePolicy can pick the branch the author meant.
export const predicateSchema = z.union([allOf, anyOf, notOf, comparisonSchema], { error: MALFORMED_PREDICATE });

export type Predicate = z.infer<typeof predicateSchema>;

/** Index into predicateSchema's options that an object's keys ask for, or null when ambiguous. */
export function predicateBranch(keys: readonly string[]): number | null {
  const forms = ['all', 'any', 'not'].filter((k) => keys.includes(k));
  const isComparison = keys.includes('field') || keys.includes('op') || keys.includes('value');
  if (forms.length === 1 && !isComparison) return ['all', 'any', 'not'].indexOf(forms[0]);
  if (forms.length === 0 && isComparison) return 3;
  return null;
}

export const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('exclude'), side: z.enum(['both', 'long', 'short']).default('both') }),
  z.strictObject({ type: z.literal('scale'), multiplier: z.number().min(0).max(1) }),
  z.strictObject({ type: z.literal('observe') }),
]);

export type RuleAction = z.infer<typeof actionSchema>;

export const ruleSchema = z.strictObject({
  id: z.string().regex(NAME_PATTERN, { error: `invalid rule id; ${nameRule}` }),
  description: z.string().max(1000).optional(),
  /** public: why the rule exists, in words */
  rationale: z.string().max(2000).optional(),
  /** public: the framework or decision it implements, e.g. "EU PAB Art. 12(1)(b)" */
  reference: z.string().max(500).optional(),
  match: predicateSchema,
  action: actionSchema,
});

export type PolicyRule = z.infer<typeof ruleSchema>;

export const policySchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, { error: `invalid policy name; ${nameRule}` }),
  description: z.string().max(1000).optional(),
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  onMissingData: z.enum(['ignore', 'exclude']).default('ignore'),
  rules: z
    .array(ruleSchema)
    .max(MAX_RULES)
    .superRefine((rules, ctx) => {
      const firstIndex = new Map<string, number>();
      rules.forEach((rule, i) => {
        const first = firstIndex.get(rule.id);
        if (first === undefined) firstIndex.set(rule.id, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id '${rule.id}' (already used by rules[${first}])` });
      });
    }),
  neutralize: z.strictObject({ by: groupField, proportion: z.number().min(0).max(1).default(1) }).optional(),
  groupCap: z.strictObject({ by: groupField, maxAbsMean: z.number().positive() }).optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
