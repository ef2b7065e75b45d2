export { parsePolicy, formatPath, type ParsedPolicy, type PolicyProblem } from './parse.js';
export { policySchema, type PolicyDocument, type PolicyInput, type PolicyRule, type Predicate, type RuleAction } from './schema.js';
export { compilePredicate, evaluatePredicate, type CompiledPredicate, type Verdict } from './predicate.js';
export { capGroupMeans, groupIndex, groupMeans, limitSides, neutralizeByGroup, scaleSignal } from './steps.js';
export {
  applyPolicy,
  enforcePolicy,
  matchRules,
  unconstrainedOutcome,
  type AppliedPolicy,
  type PolicyOutcome,
  type RuleCount,
  type RuleIdLists,
  type RuleMatches,
} from './pipeline.js';
