import type { UniverseRow } from '../universe.js';
import { applyPolicy } from './pipeline.js';
import { policyRunReport, sparseRuleIds } from './run-report.js';
import type { PolicyDocument } from './schema.js';

/** A policy version as a run names it. */
export interface PolicyRef {
  id: string;
  name: string;
  version: number;
}

/** The policy version in force at an era's cutoff, as a run applies it. */
export interface PolicyInForce extends PolicyRef {
  document: PolicyDocument;
}

/** The traded signal of a run: the meta-model M after the policy; vectors are aligned to universe positions. */
export interface TradedSignal {
  tradable: Uint8Array;
  /** S: NaN outside T */
  signal: Float64Array;
  /** tie-kept rank of S over T: NaN outside T */
  value: Float64Array;
  /** sparse: universe position → rule ids */
  excludedBy: Record<string, string[]>;
  observedBy: Record<string, string[]>;
  policyId: string | null;
  report: unknown;
}

/**
 * The seam between a run and the exclusion policy: with no policy, T = U and S = M; in shadow
 * mode the served signal is M and the report records what enforcing would have done.
 */
export function applyPolicyToRun(policy: PolicyInForce | null, universe: readonly UniverseRow[], unconstrained: Float64Array): TradedSignal {
  if (universe.length !== unconstrained.length) {
    throw new RangeError(`universe has ${universe.length} ids but the meta-model ${unconstrained.length}`);
  }
  const applied = applyPolicy(policy?.document ?? null, universe, unconstrained);
  return {
    tradable: applied.tradable,
    signal: applied.signal,
    value: applied.value,
    excludedBy: sparseRuleIds(applied.excludedBy),
    observedBy: sparseRuleIds(applied.observedBy),
    policyId: policy?.id ?? null,
    report: policyRunReport(applied, unconstrained),
  };
}
