import type { Executor } from '../../db/client.js';
import { cutoffBefore, erasWithUniverse, openingEra, policyActivationRows, policyRowForEra, policySummaries, policySummary } from '../../db/policies.js';
import {
  activationStateOf,
  changelogOf,
  policyView,
  replacedBy,
  storedDocument,
  tookForceAt,
  type ActivationRow,
  type ActivationState,
  type PolicyView,
} from '../../domain/policy/activation.js';
import type { PolicyInForce, PolicyRef } from '../../domain/policy/apply-to-run.js';
import { diffPolicies, type PolicyDiff } from '../../domain/policy/diff.js';
import type { PolicyDocument } from '../../domain/policy/index.js';
import { policyWarnings, universeVocabulary } from '../../domain/policy/warnings.js';
import type { UniverseRow } from '../../domain/universe.js';
import { notFound } from '../../errors.js';
import type { PoliciesDeps } from './deps.js';

/** How many of the latest universes a new policy is checked against. */
const RECENT_UNIVERSES = 3;

export async function activationState(executor: Executor): Promise<ActivationState> {
  return activationStateOf(await openingEra(executor), await policyActivationRows(executor));
}

/** The version in force for an era (the activations table), or null when none was activated for it. */
export async function versionForEra(era: number, executor: Executor): Promise<PolicyInForce | null> {
  const row = await policyRowForEra(executor, era);
  return row === null ? null : { id: row.id, name: row.name, version: row.version, document: storedDocument(row.document) };
}

/** When the version that replaced `policyId` took force, if one has. */
async function retiredAt(executor: Executor, policyId: string, state: ActivationState): Promise<Date | null> {
  const next = replacedBy(policyId, state);
  return next === null ? null : tookForceAt(next, await cutoffBefore(executor, next.fromEra));
}

/** One version with its status; 404 when it does not exist. */
export async function getPolicy(executor: Executor, id: string): Promise<PolicyView> {
  const row = await policySummary(executor, id);
  if (!row) throw notFound(`policy ${id} does not exist`);
  const state = await activationState(executor);
  return policyView(row, state, await retiredAt(executor, id, state));
}

export async function listPolicies(deps: Pick<PoliciesDeps, 'db'>, filter: { name?: string } = {}): Promise<PolicyView[]> {
  const rows = await policySummaries(deps.db, filter);
  const state = await activationState(deps.db);
  return Promise.all(rows.map(async (row) => policyView(row, state, await retiredAt(deps.db, row.id, state))));
}

/** The version in force now and the one scheduled to take force, if any; 404 when neither exists. */
export async function activePolicies(deps: Pick<PoliciesDeps, 'db'>) {
  const state = await activationState(deps.db);
  if (state.current === null && state.upcoming === null) throw notFound('no policy is active or scheduled: the meta-model is served unconstrained');
  const view = (a: ActivationRow) => ({ id: a.policyId, name: a.name, version: a.version, fromEra: a.fromEra, activatedAt: a.activatedAt, reason: a.reason, document: storedDocument(a.document) });
  return { current: state.current === null ? null : view(state.current), upcoming: state.upcoming === null ? null : view(state.upcoming), nextEra: state.opening };
}

/** What changed from version `against` to version `id`. */
export async function diffVersions(deps: Pick<PoliciesDeps, 'db'>, id: string, against: string): Promise<{ from: PolicyRef; to: PolicyRef } & PolicyDiff> {
  const [to, from] = await Promise.all([getPolicy(deps.db, id), getPolicy(deps.db, against)]);
  return { from: policyRef(from), to: policyRef(to), ...diffPolicies(from.document, to.document) };
}

/** Every activation that took force or is scheduled, oldest first, with what it changed. Public: names no account. */
export async function changelog(deps: Pick<PoliciesDeps, 'db'>) {
  return changelogOf(await activationState(deps.db));
}

/** The universes of the latest eras that have one, newest first. */
export async function recentUniverses(deps: Pick<PoliciesDeps, 'db' | 'eras'>, count = RECENT_UNIVERSES): Promise<{ era: number; rows: UniverseRow[] }[]> {
  const recent = await erasWithUniverse(deps.db, count);
  return Promise.all(recent.map(async (number) => ({ era: number, rows: await deps.eras.universeRows(number) })));
}

/** Fields and values of a document that no recent universe has (also part of create's reply). */
export async function documentWarnings(deps: Pick<PoliciesDeps, 'db' | 'eras'>, document: PolicyDocument) {
  return policyWarnings(document, universeVocabulary(await recentUniverses(deps)));
}

export const policyRef = (p: PolicyView): PolicyRef => ({ id: p.id, name: p.name, version: p.version });
