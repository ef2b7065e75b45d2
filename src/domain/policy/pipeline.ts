import { tieKeptRank } from '../rank.js';
import type { UniverseRow } from '../universe.js';
import { compilePredicate } from './predicate.js';
import type { PolicyDocument, RuleAction } from './schema.js';
import { CONSTRAINT_TOLERANCE, distinctValues, holdConstraints, sideKeptRank, type GroupLimit, type HeldSignal } from './constraints.js';
import { groupIndex, neutralizeByGroup, scaleSignal } from './steps.js';

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
  /** how the hard constraints were held on S; null without a policy */
  constraints: ConstraintOutcome | null;
}

/** What the constraint step did, and the conflict that makes the policy unusable on this signal. */
export interface ConstraintOutcome {
  /** every hard constraint holds on S to CONSTRAINT_TOLERANCE */
  held: boolean;
  /** false when S already held them after neutralisation and was left as it was */
  changed: boolean;
  rounds: number;
  violation: number;
  /** null when S orders at least two tradable ids and every constraint holds */
  conflict: PolicyConflict | null;
}

/** Policy parts that together leave S without an ordering (or cannot all hold), by document path. */
export interface PolicyConflict {
  /** rule ids, 'neutralize', 'groupCap' */
  parts: string[];
  /** where in the document, e.g. rules[1] */
  paths: string[];
  message: string;
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

/**
 * The order of docs/policies.md: observe → exclude both → scale → neutralize (as a target) → the
 * hard constraints held together (side limits, group caps, neutralisation with proportion 1) →
 * a rank over T that keeps them.
 */
export function enforcePolicy(policy: PolicyDocument, universe: readonly UniverseRow[], unconstrained: Float64Array): PolicyOutcome {
  const matches = matchRules(policy, universe);
  const scaled = scaleSignal(unconstrained, matches.tradable, matches.multipliers);
  const { signal, value, held } = constrainSignal(scaled, policy, policyGroups(policy, universe), matches.longExcluded, matches.shortExcluded);
  return {
    tradable: matches.tradable,
    signal,
    value,
    excludedBy: matches.excludedBy,
    observedBy: matches.observedBy,
    ruleCounts: matches.ruleCounts,
    constraints: {
      held: held.held,
      changed: held.changed,
      rounds: held.rounds,
      violation: held.violation,
      conflict: conflictOf(policy, matches, held),
    },
  };
}

/** Group index per field the document groups by (neutralize.by, groupCap.by), computed once. */
export function policyGroups(policy: PolicyDocument, universe: readonly UniverseRow[]): Map<string, Int32Array> {
  const groups = new Map<string, Int32Array>();
  for (const by of [policy.neutralize?.by, policy.groupCap?.by]) {
    if (by !== undefined && !groups.has(by)) groups.set(by, groupIndex(universe, by));
  }
  return groups;
}

/**
 * The steps after scaling: neutralize as a target (any proportion), then the hard constraints held
 * together on S (side limits, group caps, neutralisation with proportion 1), then the rank over T
 * that keeps them. `groups` from policyGroups.
 */
export function constrainSignal(
  scaled: Float64Array,
  policy: PolicyDocument,
  groups: ReadonlyMap<string, Int32Array>,
  longExcluded: Uint8Array,
  shortExcluded: Uint8Array,
): { signal: Float64Array; value: Float64Array; held: HeldSignal } {
  let signal = scaled;
  if (policy.neutralize !== undefined) signal = neutralizeByGroup(signal, groups.get(policy.neutralize.by)!, policy.neutralize.proportion);
  const held = holdConstraints(signal, { limits: groupLimits(policy, groups), longExcluded, shortExcluded });
  return { signal: held.signal, value: sideKeptRank(held.signal, longExcluded, shortExcluded), held };
}

/** A neutralisation with proportion 1 is a cap of 0; on the cap's own field it is the tighter of the two. */
function groupLimits(policy: PolicyDocument, groups: ReadonlyMap<string, Int32Array>): GroupLimit[] {
  const limits = new Map<string, number>();
  if (policy.neutralize !== undefined && policy.neutralize.proportion === 1) limits.set(policy.neutralize.by, 0);
  if (policy.groupCap !== undefined) {
    const { by, maxAbsMean } = policy.groupCap;
    limits.set(by, Math.min(maxAbsMean, limits.get(by) ?? Infinity));
  }
  return [...limits].map(([by, maxAbsMean]) => ({ groups: groups.get(by)!, maxAbsMean }));
}

/**
 * Fewer than 2 distinct tradable values (or constraints left unheld) make the policy unusable:
 * names the exclusions when T itself is too small, else the constraints in play.
 */
function conflictOf(policy: PolicyDocument, matches: RuleMatches, held: HeldSignal): PolicyConflict | null {
  const distinct = distinctValues(held.signal);
  if (distinct === 2 && held.held) return null;
  const parts: { part: string; path: string; label: string }[] = [];
  let tradable = 0;
  for (let i = 0; i < matches.tradable.length; i++) tradable += matches.tradable[i];
  const ruleParts = (sides: readonly string[], counted: (i: number) => boolean) => {
    policy.rules.forEach((rule, r) => {
      if (rule.action.type !== 'exclude' || !sides.includes(rule.action.side)) return;
      const acted = matches.excludedBy.some((list, i) => counted(i) && list.includes(rule.id));
      if (acted) parts.push({ part: rule.id, path: `rules[${r}]`, label: `${rule.id} (exclude ${rule.action.side})` });
    });
  };
  if (tradable < 2) {
    // Fail-closed ids leave T under the rule whose data they lack, whatever that rule's action.
    policy.rules.forEach((rule, r) => {
      if (!matches.excludedBy.some((list, i) => matches.tradable[i] === 0 && list.includes(rule.id))) return;
      const how = rule.action.type === 'exclude' && rule.action.side === 'both' ? 'exclude both' : 'missing data';
      parts.push({ part: rule.id, path: `rules[${r}]`, label: `${rule.id} (${how})` });
    });
    if (policy.onMissingData === 'exclude') parts.push({ part: 'onMissingData', path: 'onMissingData', label: 'onMissingData exclude' });
    const names = parts.map((p) => p.label).join(', ');
    return conflictFrom(parts, `the exclusions leave ${tradable} tradable id${tradable === 1 ? '' : 's'}${names === '' ? '' : ` (${names})`}: nothing left to order`);
  }
  ruleParts(['long', 'short'], (i) => matches.tradable[i] === 1 && held.signal[i] === 0);
  if (policy.neutralize !== undefined && policy.neutralize.proportion === 1) {
    parts.push({ part: 'neutralize', path: 'neutralize', label: `neutralize (by ${policy.neutralize.by}, proportion 1)` });
  }
  if (policy.groupCap !== undefined) {
    parts.push({ part: 'groupCap', path: 'groupCap', label: `groupCap (by ${policy.groupCap.by}, maxAbsMean ${policy.groupCap.maxAbsMean})` });
  }
  policy.rules.forEach((rule, r) => {
    if (rule.action.type === 'scale' && rule.action.multiplier === 0 && matches.ruleCounts[r].matched > 0) {
      parts.push({ part: rule.id, path: `rules[${r}]`, label: `${rule.id} (scale 0)` });
    }
  });
  const names = parts.map((p) => p.label).join(', ') || 'the signal itself';
  if (!held.held) {
    return conflictFrom(parts, `${names} could not all be held to ${CONSTRAINT_TOLERANCE}: ${held.violation.toExponential(2)} left after ${held.rounds} rounds`);
  }
  return conflictFrom(parts, `${names} leave fewer than 2 distinct tradable values: every tradable id ends at the same signal${held.signal.some((v) => v === 0) ? ' (0)' : ''}, so the ranking orders nothing`);
}

function conflictFrom(parts: readonly { part: string; path: string }[], message: string): PolicyConflict {
  return { parts: parts.map((p) => p.part), paths: parts.map((p) => p.path), message };
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
    constraints: null,
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
