import { spearman } from '../stats.js';
import type { AppliedPolicy, PolicyOutcome, RuleCount, RuleIdLists } from './pipeline.js';

/** What a run records about the policy it applied (meta_model_runs.policy_report). */
export interface PolicyRunReport {
  mode: 'enforce' | 'shadow';
  /** per rule, what enforcing the document does (in shadow mode: would do) */
  ruleCounts: RuleCount[];
  /** of the served signal */
  tradable: number;
  excluded: number;
  /** in shadow mode, what enforcing would have served; null when enforced */
  shadowResult: ShadowSummary | null;
}

export interface ShadowSummary {
  tradable: number;
  excluded: number;
  /** Spearman of the would-be S with M over its tradable ids; null when undefined */
  spearman: number | null;
  /** universe position → rule ids, as the served excludedBy would have been */
  excludedBy: Record<string, string[]>;
  observedBy: Record<string, string[]>;
}

/** Universe position → rule ids, for the ids some rule touched (most ids have none). */
export function sparseRuleIds(lists: RuleIdLists): Record<string, string[]> {
  const sparse: Record<string, string[]> = {};
  lists.forEach((list, i) => {
    if (list.length > 0) sparse[String(i)] = [...list];
  });
  return sparse;
}

/** Null when no policy was applied. */
export function policyRunReport(applied: AppliedPolicy, unconstrained: Float64Array): PolicyRunReport | null {
  if (applied.mode === 'none') return null;
  const tradable = countTradable(applied);
  const shadow = applied.shadowResult;
  return {
    mode: applied.mode,
    ruleCounts: shadow === null ? applied.ruleCounts : shadow.ruleCounts,
    tradable,
    excluded: applied.tradable.length - tradable,
    shadowResult: shadow === null ? null : summarizeShadow(shadow, unconstrained),
  };
}

function summarizeShadow(outcome: PolicyOutcome, unconstrained: Float64Array): ShadowSummary {
  const tradable = countTradable(outcome);
  const rho = spearman(outcome.signal, unconstrained);
  return {
    tradable,
    excluded: outcome.tradable.length - tradable,
    spearman: Number.isFinite(rho) ? rho : null,
    excludedBy: sparseRuleIds(outcome.excludedBy),
    observedBy: sparseRuleIds(outcome.observedBy),
  };
}

function countTradable(outcome: Pick<PolicyOutcome, 'tradable'>): number {
  let count = 0;
  for (let i = 0; i < outcome.tradable.length; i++) count += outcome.tradable[i];
  return count;
}
