import { z } from 'zod';
import { POLICY_STATUSES } from '../../../domain/policy/activation.js';
import { policySchema, predicateSchema, ruleSchema } from '../../../domain/policy/schema.js';
import { policyMode } from '../../schemas.js';

/** Shapes more than one policy route answers with. */

// Predicates nest, so OpenAPI needs a named component to refer back to.
if (!z.globalRegistry.has(predicateSchema)) z.globalRegistry.add(predicateSchema, { id: 'PolicyPredicate' });

export const id = z.object({ id: z.uuid() });

const accountRef = z.object({ id: z.uuid(), name: z.string() });

export const status = z.enum(POLICY_STATUSES);

export const warnings = z
  .array(z.object({ path: z.string(), message: z.string() }))
  .describe('fields and values the document names that no recent universe has: such a rule is valid but matches nothing');

export const policySummary = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  status,
  description: z.string().nullable(),
  mode: policyMode,
  author: accountRef,
  createdAt: z.date(),
  activatedAt: z.date().nullable().describe('latest activation (scheduled ones included); every one is in GET /v1/policies/changelog'),
  activatedBy: accountRef.nullable(),
  fromEra: z.number().int().nullable().describe('the first era of the latest activation'),
  retiredAt: z.date().nullable().describe('when the version after it took force'),
  rejection: z
    .object({ at: z.date(), reason: z.string(), by: accountRef })
    .nullable()
    .describe('who rejected the draft, when and why (status `rejected`); null otherwise'),
});

export const policyDetail = policySummary.extend({ document: policySchema }).meta({ id: 'Policy' });

const ruleList = z.array(ruleSchema);

/** What changed between two versions: rules by id, then every other field (domain/policy/diff.ts). */
export const policyChange = {
  rules: z.object({
    added: ruleList,
    removed: ruleList,
    changed: z.array(z.object({ id: z.string(), fields: z.array(z.string()), from: ruleSchema, to: ruleSchema })),
  }),
  fields: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })),
};
