import { tieKeptRank } from '../rank.js';
import type { UniverseRow } from '../universe.js';
import { compilePredicate } from './predicate.js';
import type { PolicyDocument, RuleAction } from './schema.js';
import { capGroupMeans, groupIndex, limitSides, neutralizeByGroup, scaleSignal } from './steps.js';

export interface RuleCount {
  ruleId: string;
  description: string | null;
  action: RuleAction;
  /** ids whose predicate matched */
  matched: number;
  /** ids whose verdict depended on a value they lack (counted under either onMissingData) */
  missingData: number;
  /** ids this rule excluded, on both sides or on one (side-limited ids stay tradable) */
  excluded: number;
  observed: number;
}

export interface RuleMatches {
  tradable: Uint8Array;
  multipliers: Float64Array;
  longExcluded: Uint8Array;
  shortExcluded: Uint8Array;
  excludedBy: RuleIdLists;
  observedBy: RuleIdLists;
  ruleCounts: RuleCount[];
}

/** Rule ids per id; ids no rule touched share one frozen empty list. */
export type RuleIdLists = readonly (readonly string[])[];

export interface PolicyOutcome {
  tradable: Uint8Array;
  /** S: NaN outside T */
  signal: Float64Array;
  /** tie-kept rank of S over T: NaN outside T */
  value: Float64Array;
  /** every exclude rule that matched an id, side-limited ones included; `tradable` says who left T */
  excludedBy: RuleIdLists;
  observedBy: RuleIdLists;
  ruleCounts: RuleCount[];
}

export interface AppliedPolicy extends PolicyOutcome {
  mode: 'none' | 'enforce' | 'shadow';
  /** in shadow mode, what enforcing would have produced; null otherwise */
  shadowResult: PolicyOutcome | null;
}

export function applyPolicy(policy: PolicyDocument | null, universe: readonly UniverseRow[], unconstrained: Float64Array): AppliedPolicy {
  assertInputs(universe, unconstrained);
  if (policy === null) return { ...unconstrainedOutcome(unconstrained), mode: 'none', shadowResult: null };
  const enforced = enforcePolicy(policy, universe, unconstrained);
  if (policy.mode === 'enforce') return { ...enforced, mode: 'enforce', shadowResult: null };
  return { ...unconstrainedOutcome(unconstrained), mode: 'shadow', shadowResult: enforced };
}

/** The order of docs/policies.md: observe → exclude both → scale → neutralize → groupCap → side limits → rank over T. */
export function enforcePolicy(policy: PolicyDocument, universe: readonly UniverseRow[], unconstrained: Float64Array): PolicyOutcome {
  const matches = matchRules(policy, universe);
  let signal = scaleSignal(unconstrained, matches.tradable, matches.multipliers);
  if (policy.neutralize !== undefined) {
    signal = neutralizeByGroup(signal, groupIndex(universe, policy.neutralize.by), policy.neutralize.proportion);
  }
  if (policy.groupCap !== undefined) {
    signal = capGroupMeans(signal, groupIndex(universe, policy.groupCap.by), policy.groupCap.maxAbsMean);
  }
  signal = limitSides(signal, matches.longExcluded, matches.shortExcluded);
  return {
    tradable: matches.tradable,
    signal,
    value: tieKeptRank(signal),
    excludedBy: matches.excludedBy,
    observedBy: matches.observedBy,
    ruleCounts: matches.ruleCounts,
  };
}

export function unconstrainedOutcome(unconstrained: Float64Array): PolicyOutcome {
  const n = unconstrained.length;
  return {
    tradable: new Uint8Array(n).fill(1),
    signal: Float64Array.from(unconstrained),
    value: tieKeptRank(unconstrained),
    excludedBy: new Array<readonly string[]>(n).fill(NONE),
    observedBy: new Array<readonly string[]>(n).fill(NONE),
    ruleCounts: [],
  };
}

/**
 * Evaluates every rule on every id (each predicate compiled once). With onMissingData 'exclude', an
 * id whose verdict depends on missing data leaves T, attributed to that rule; an observe rule only
 * flags it, since observing never changes the signal.
 */
export function matchRules(policy: PolicyDocument, universe: readonly UniverseRow[]): RuleMatches {
  const n = universe.length;
  const matches: MutableMatches = {
    tradable: new Uint8Array(n).fill(1),
    multipliers: new Float64Array(n).fill(1),
    longExcluded: new Uint8Array(n),
    shortExcluded: new Uint8Array(n),
    excludedBy: new Array<string[] | undefined>(n).fill(undefined),
    observedBy: new Array<string[] | undefined>(n).fill(undefined),
    ruleCounts: [],
  };
  const failClosed = policy.onMissingData === 'exclude';
  for (const rule of policy.rules) {
    const verdictOf = compilePredicate(rule.match);
    const count: RuleCount = {
      ruleId: rule.id,
      description: rule.description ?? null,
      action: rule.action,
      matched: 0,
      missingData: 0,
      excluded: 0,
      observed: 0,
    };
    for (let i = 0; i < n; i++) {
      const verdict = verdictOf(universe[i]);
      if (verdict === 'noMatch') continue;
      if (verdict === 'match') {
        count.matched++;
        applyAction(rule.id, rule.action, i, matches, count);
      } else {
        count.missingData++;
        if (failClosed) applyAction(rule.id, rule.action.type === 'observe' ? rule.action : FAIL_CLOSED, i, matches, count);
      }
    }
    matches.ruleCounts.push(count);
  }
  return { ...matches, excludedBy: orNone(matches.excludedBy), observedBy: orNone(matches.observedBy) };
}

// Lists are allocated only for the ids a rule touches: most ids in an era are touched by none.
type MutableMatches = Omit<RuleMatches, 'excludedBy' | 'observedBy'> & {
  excludedBy: (string[] | undefined)[];
  observedBy: (string[] | undefined)[];
};

const NONE: readonly string[] = Object.freeze([]);
const FAIL_CLOSED: RuleAction = { type: 'exclude', side: 'both' };

function orNone(lists: (string[] | undefined)[]): RuleIdLists {
  return lists.map((list) => list ?? NONE);
}

function appendTo(lists: (string[] | undefined)[], i: number, ruleId: string): void {
  const list = lists[i];
  if (list === undefined) lists[i] = [ruleId];
  else list.push(ruleId);
}

function applyAction(ruleId: string, action: RuleAction, i: number, matches: MutableMatches, count: RuleCount): void {
  switch (action.type) {
    case 'observe':
      appendTo(matches.observedBy, i, ruleId);
      count.observed++;
      return;
    case 'scale':
      matches.multipliers[i] *= action.multiplier;
      return;
    case 'exclude':
      appendTo(matches.excludedBy, i, ruleId);
      count.excluded++;
      if (action.side === 'both') matches.tradable[i] = 0;
      else if (action.side === 'long') matches.longExcluded[i] = 1;
      else matches.shortExcluded[i] = 1;
  }
}

function assertInputs(universe: readonly UniverseRow[], unconstrained: Float64Array): void {
  if (universe.length !== unconstrained.length) {
    throw new RangeError(`universe has ${universe.length} ids but the signal has ${unconstrained.length} values`);
  }
  for (let i = 0; i < unconstrained.length; i++) {
    if (!Number.isFinite(unconstrained[i])) throw new RangeError(`unconstrained signal is not finite at ${universe[i].id}`);
  }
}
