import { accountStatusShared } from '../../db/accounts.js';
import type { Executor } from '../../db/client.js';
import { emitEvents } from '../../db/events.js';
import {
  cancelPolicyActivations,
  deletePolicyVersion,
  insertPolicyActivation,
  insertPolicyRejection,
  insertPolicyVersion,
  latestPolicyVersion,
  lockActivations,
  lockPolicyName,
  policyById,
  policyHasHistory,
  policySummary,
} from '../../db/policies.js';
import { policyActivated } from '../../domain/events.js';
import { isPending, planActivation } from '../../domain/policy/activation.js';
import type { PolicyDocument } from '../../domain/policy/index.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import type { Principal } from '../accounts.js';
import type { PoliciesDeps } from './deps.js';
import { activationState, documentWarnings, getPolicy } from './read.js';
import { activationConflict } from './signal.js';

/** A new draft of a parsed document; its version is one more than the latest of that name, serialised per name. Warns about what no recent universe has. */
export async function createPolicy(deps: Pick<PoliciesDeps, 'db' | 'eras' | 'audit'>, who: Principal, document: PolicyDocument) {
  const warnings = await documentWarnings(deps, document);
  const created = await deps.db.transaction(async (tx) => {
    await lockPolicyName(tx, document.name);
    const version = ((await latestPolicyVersion(tx, document.name)) ?? 0) + 1;
    const row = await insertPolicyVersion(tx, { name: document.name, version, document, authorId: who.accountId });
    await deps.audit.record(tx, { actor: who, action: 'policy.create', subject: `policy:${row.id}`, details: { name: row.name, version, document } });
    return row;
  });
  return { ...created, status: 'draft' as const, warnings };
}

type ActivateDeps = Pick<PoliciesDeps, 'db' | 'eras' | 'audit' | 'config' | 'openEraMetaModel'>;

/**
 * Puts a version in force at once (from the first era whose cutoff has not passed) or from a
 * named later era (scheduled). A later activation cancels a schedule that has not taken force.
 * Activating the version already in force, with nothing scheduled, is a 409: nothing would change.
 * So is a version whose constraints leave nothing to order on the eras it would meet first
 * (activationConflict), checked before the activations lock: it may compute provisional
 * meta-models, and closes wait on that lock.
 */
export async function activatePolicy(deps: ActivateDeps, who: Principal, id: string, reason: string, fromEra?: number) {
  // A version's author and document never change, so these two are checked before the lock.
  const candidate = await getPolicy(deps.db, id);
  if (candidate.rejection !== null) throw rejectedConflict({ ...candidate, rejection: candidate.rejection });
  if (deps.config.POLICY_FOUR_EYES && candidate.author.id === who.accountId) {
    throw forbidden(`four-eyes rule: ${candidate.name} v${candidate.version} was written by you; another admin must activate it`);
  }
  const refused = await activationConflict(deps, candidate.document);
  if (refused !== null) {
    throw conflict(`${candidate.name} v${candidate.version} cannot be activated: on era ${refused.era}, ${refused.message} (preview the version for details)`);
  }
  return deps.db.transaction((tx) => activateLocked(deps, tx, who, id, reason, fromEra));
}

/** The activation itself, under the activations lock, in the caller's transaction. */
async function activateLocked(deps: Pick<PoliciesDeps, 'audit'>, tx: Executor, who: Principal, id: string, reason: string, fromEra: number | undefined) {
  await lockActivations(tx, 'exclusive');
  // The approver stays active through the approval: a disabling in flight refuses it or waits for it.
  if ((await accountStatusShared(tx, who.accountId)) !== 'active') throw forbidden('your account is no longer active; it cannot approve a policy');
  const target = await policyById(tx, id);
  if (!target) throw notFound(`policy ${id} does not exist`);
  // Rejections take the same lock: one that committed first is seen here.
  const rejected = await policySummary(tx, id);
  if (rejected?.rejection) throw rejectedConflict({ name: target.name, version: target.version, rejection: rejected.rejection });
  const state = await activationState(tx);
  const plan = planActivation(state, id, fromEra);
  if (!plan.ok && plan.reason === 'past') {
    throw conflict(`era ${fromEra} has closed or is past its closesAt; fromEra must be ${state.opening} or later (or omit it to activate at once)`);
  }
  if (!plan.ok) throw conflict(`${target.name} v${target.version} is already in force (since ${plan.current.activatedAt.toISOString()}, from era ${plan.current.fromEra})`);
  const { from, scheduled, replaced } = plan;
  const status = scheduled ? ('scheduled' as const) : ('active' as const);
  const activation = await insertPolicyActivation(tx, { policyId: id, fromEra: from, scheduled: fromEra !== undefined, activatedBy: who.accountId, reason });
  // A later activation replaces every schedule that has not taken force.
  const cancelled = await cancelPolicyActivations(tx, state.activations.filter((a) => isPending(a, state.opening)).map((a) => a.id), activation.id);
  const retired = replaced !== null && replaced.policyId !== id ? replaced : null;
  if (retired !== null) {
    await deps.audit.record(tx, {
      actor: who,
      action: 'policy.retire',
      subject: `policy:${retired.policyId}`,
      reason,
      details: { name: retired.name, version: retired.version, replacedBy: id, fromEra: from },
    });
  }
  const cancelledSchedules = cancelled.map((c) => ({ policyId: c.policyId, fromEra: c.fromEra }));
  const details = { name: target.name, version: target.version, fromEra: from, status, replaces: replaced?.policyId ?? null, cancelledSchedules };
  await deps.audit.record(tx, { actor: who, action: 'policy.activate', subject: `policy:${id}`, reason, details });
  await emitEvents(tx, [policyActivated({ id, name: target.name, version: target.version, fromEra: from, status })]);
  return { id, name: target.name, version: target.version, status, fromEra: from, activatedAt: activation.activatedAt, retired: retired?.policyId ?? null };
}

/**
 * Its author withdraws a draft: the version is deleted, so when it was the latest of its name
 * the next draft of that name takes its number again. A version that was ever activated or
 * scheduled (even a cancelled schedule), that a run used, or that was rejected stays: 409.
 * Serialised with activations, rejections and numbering by their locks.
 */
export async function withdrawPolicy(deps: Pick<PoliciesDeps, 'db' | 'audit'>, who: Principal, id: string) {
  const before = await getPolicy(deps.db, id);
  if (before.author.id !== who.accountId) {
    throw forbidden(`only the author of ${before.name} v${before.version} (${before.author.name}) may withdraw it; another admin may reject it instead`);
  }
  await deps.db.transaction(async (tx) => {
    await lockPolicyName(tx, before.name);
    await lockActivations(tx, 'exclusive');
    const current = await getPolicy(tx, id);
    if (current.status !== 'draft' || (await policyHasHistory(tx, id))) {
      const why = current.status === 'rejected' ? 'it was rejected' : current.status === 'draft' ? 'it was scheduled once and stays in the history' : `it is ${current.status}`;
      throw conflict(`${current.name} v${current.version} cannot be withdrawn: ${why}; only a draft that never took part in the history can`);
    }
    await deletePolicyVersion(tx, id);
    await deps.audit.record(tx, { actor: who, action: 'policy.withdraw', subject: `policy:${id}`, details: { name: current.name, version: current.version } });
  });
}

/** An admin other than the author turns a draft down, with a reason: it can no longer be activated or withdrawn. */
export async function rejectPolicy(deps: Pick<PoliciesDeps, 'db' | 'audit'>, who: Principal, id: string, reason: string) {
  const before = await getPolicy(deps.db, id);
  if (before.author.id === who.accountId) {
    throw forbidden(`${before.name} v${before.version} was written by you; withdraw it (DELETE /v1/policies/${id}) instead of rejecting it`);
  }
  return deps.db.transaction(async (tx) => {
    await lockActivations(tx, 'exclusive');
    if ((await accountStatusShared(tx, who.accountId)) !== 'active') throw forbidden('your account is no longer active; it cannot reject a policy');
    const current = await getPolicy(tx, id);
    if (current.status !== 'draft') throw conflict(`${current.name} v${current.version} is ${current.status}; only a draft can be rejected`);
    await insertPolicyRejection(tx, { policyId: id, rejectedBy: who.accountId, reason });
    await deps.audit.record(tx, { actor: who, action: 'policy.reject', subject: `policy:${id}`, reason, details: { name: current.name, version: current.version } });
    return { id, status: 'rejected' as const };
  });
}

const rejectedConflict = (p: { name: string; version: number; rejection: { reason: string; by: { name: string } } }) =>
  conflict(`${p.name} v${p.version} was rejected by ${p.rejection.by.name} ("${p.rejection.reason}") and cannot be activated; create a new version instead`);
