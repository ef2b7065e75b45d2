import { numeraiCorr } from '../scoring.js';
import type { UniverseRow } from '../universe.js';
import { enforcePolicy } from './pipeline.js';
import type { PolicyDocument } from './schema.js';

/** A step of the policy that can be left out on its own: a rule by its id, or the document's neutralize / groupCap. */
export interface PolicyPart {
  /** the rule id; `neutralize:<field>` and `groupCap:<field>` for the steps (a colon is never in a rule id) */
  ruleId: string;
  action: 'exclude' | 'scale' | 'observe' | 'neutralize' | 'groupCap';
}

export function policyParts(policy: PolicyDocument): PolicyPart[] {
  const parts: PolicyPart[] = policy.rules.map((rule) => ({ ruleId: rule.id, action: rule.action.type }));
  if (policy.neutralize !== undefined) parts.push({ ruleId: `neutralize:${policy.neutralize.by}`, action: 'neutralize' });
  if (policy.groupCap !== undefined) parts.push({ ruleId: `groupCap:${policy.groupCap.by}`, action: 'groupCap' });
  return parts;
}

/** The document without one part, everything else the same. */
export function withoutPart(policy: PolicyDocument, part: PolicyPart): PolicyDocument {
  if (part.action === 'neutralize') return { ...policy, neutralize: undefined };
  if (part.action === 'groupCap') return { ...policy, groupCap: undefined };
  return { ...policy, rules: policy.rules.filter((rule) => rule.id !== part.ruleId) };
}

/** The traded value (tie-kept rank of S over T) of the enforced policy without each part in turn: it depends on the run only, not on a target. */
export function leaveOneOutValues(policy: PolicyDocument, universe: readonly UniverseRow[], unconstrained: Float64Array): { part: PolicyPart; value: Float64Array }[] {
  return policyParts(policy).map((part) => ({ part, value: enforcePolicy(withoutPart(policy, part), universe, unconstrained).value }));
}

export interface PolicyCost {
  /** numerai_corr of M over U against the target */
  unconstrained: number | null;
  /** numerai_corr of the published value over T */
  traded: number | null;
  /** unconstrained − traded: what the policy cost in CORR */
  cost: number | null;
  /** each part's own cost: traded without it − traded */
  byRule: { ruleId: string; action: PolicyPart['action']; cost: number | null }[];
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
const difference = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/**
 * The cost of the policy on one target (DESIGN section 2 step 12). `withoutEach` comes from
 * leaveOneOutValues of the enforced document; empty when no policy was enforced.
 */
export function policyCost(unconstrained: Float64Array, value: Float64Array, withoutEach: readonly { part: PolicyPart; value: Float64Array }[], target: Float64Array): PolicyCost {
  const free = finiteOrNull(numeraiCorr(unconstrained, target));
  const traded = finiteOrNull(numeraiCorr(value, target));
  return {
    unconstrained: free,
    traded,
    cost: difference(free, traded),
    byRule: withoutEach.map(({ part, value: without }) => ({ ruleId: part.ruleId, action: part.action, cost: difference(finiteOrNull(numeraiCorr(without, target)), traded) })),
  };
}
