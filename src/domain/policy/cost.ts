import { numeraiCorr } from '../scoring.js';
import type { UniverseRow } from '../universe.js';
import { constrainSignal, matchRules, policyGroups } from './pipeline.js';
import { scaleSignal } from './steps.js';
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

/**
 * The traded value (tie-kept rank of S over T) of the enforced policy without each part in turn:
 * it depends on the run only, not on a target. Each rule's matches are evaluated once; leaving
 * one out recombines the others (exclusions by count, multipliers by product), so the work is one
 * pass of the steps after matching per part, not one evaluation of every rule per part.
 */
export function leaveOneOutValues(policy: PolicyDocument, universe: readonly UniverseRow[], unconstrained: Float64Array): { part: PolicyPart; value: Float64Array }[] {
  const n = universe.length;
  const alone = policy.rules.map((rule) => matchRules({ ...policy, rules: [rule] }, universe));
  const excludedBy = new Uint16Array(n);
  const longBy = new Uint16Array(n);
  const shortBy = new Uint16Array(n);
  for (const m of alone) {
    for (let i = 0; i < n; i++) {
      excludedBy[i] += 1 - m.tradable[i];
      longBy[i] += m.longExcluded[i];
      shortBy[i] += m.shortExcluded[i];
    }
  }
  const groups = policyGroups(policy, universe);
  const tradedWith = (skip: number, document: PolicyDocument) => {
    const tradable = new Uint8Array(n);
    const longExcluded = new Uint8Array(n);
    const shortExcluded = new Uint8Array(n);
    const multipliers = new Float64Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      const own = skip < 0 ? null : alone[skip];
      tradable[i] = excludedBy[i] - (own === null ? 0 : 1 - own.tradable[i]) === 0 ? 1 : 0;
      longExcluded[i] = longBy[i] - (own?.longExcluded[i] ?? 0) > 0 ? 1 : 0;
      shortExcluded[i] = shortBy[i] - (own?.shortExcluded[i] ?? 0) > 0 ? 1 : 0;
    }
    // Multipliers multiply in rule order, as matchRules applies them, so the product is the same bit for bit.
    alone.forEach((m, r) => {
      if (r === skip) return;
      for (let i = 0; i < n; i++) if (m.multipliers[i] !== 1) multipliers[i] *= m.multipliers[i];
    });
    return constrainSignal(scaleSignal(unconstrained, tradable, multipliers), document, groups, longExcluded, shortExcluded).value;
  };
  return policyParts(policy).map((part) => {
    if (part.action === 'neutralize' || part.action === 'groupCap') return { part, value: tradedWith(-1, withoutPart(policy, part)) };
    return { part, value: tradedWith(policy.rules.findIndex((rule) => rule.id === part.ruleId), policy) };
  });
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
 * The cost of the policy on one target (docs/reports.md, cost of the policy). `withoutEach` comes from
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
