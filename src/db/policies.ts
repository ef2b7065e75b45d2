import { and, asc, desc, eq, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { ActivationRow, PolicySummary } from '../domain/policy/activation.js';
import type { Executor } from './client.js';
import { accounts, eras, policies, policyActivations, policyRejections } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/** A stored policy version (the policies table). */
export type PolicyRow = typeof policies.$inferSelect;

const author = alias(accounts, 'author');
const rejector = alias(accounts, 'rejector');

async function selectSummaries(executor: Executor, where: SQL | undefined): Promise<PolicySummary[]> {
  const rows = await executor
    .select({
      id: policies.id,
      name: policies.name,
      version: policies.version,
      document: policies.document,
      createdAt: policies.createdAt,
      authorId: author.id,
      authorName: author.name,
      rejectedAt: policyRejections.rejectedAt,
      rejectionReason: policyRejections.reason,
      rejectorId: rejector.id,
      rejectorName: rejector.name,
    })
    .from(policies)
    .innerJoin(author, eq(author.id, policies.authorId))
    .leftJoin(policyRejections, eq(policyRejections.policyId, policies.id))
    .leftJoin(rejector, eq(rejector.id, policyRejections.rejectedBy))
    .where(where)
    .orderBy(asc(policies.name), desc(policies.version));
  return rows.map(({ rejectedAt, rejectionReason, rejectorId, rejectorName, ...row }) => ({
    ...row,
    rejection: rejectedAt === null ? null : { at: rejectedAt, reason: rejectionReason!, by: { id: rejectorId!, name: rejectorName! } },
  }));
}

export type { ActivationRow } from '../domain/policy/activation.js';

/* The policy versions and which of them is in force for which eras (the activations table). */

/** One version with its author, or null. */
export async function policySummary(executor: Executor, id: string): Promise<PolicySummary | null> {
  const [row] = await selectSummaries(executor, eq(policies.id, id));
  return row ?? null;
}

/** Every version (of one name, if given), by name then newest version first. */
export async function policySummaries(executor: Executor, filter: { name?: string } = {}): Promise<PolicySummary[]> {
  return selectSummaries(executor, filter.name === undefined ? undefined : eq(policies.name, filter.name));
}

/** One version as stored, or null. */
export async function policyById(executor: Executor, id: string): Promise<PolicyRow | null> {
  const [row] = await executor.select().from(policies).where(eq(policies.id, id));
  return row ?? null;
}

/** The latest version number of a name, or null when it has none (callers hold lockName). */
export async function latestPolicyVersion(executor: Executor, name: string): Promise<number | null> {
  const [latest] = await executor
    .select({ version: sql<number | null>`max(${policies.version})` })
    .from(policies)
    .where(eq(policies.name, name));
  return latest?.version ?? null;
}

export async function insertPolicyVersion(executor: Executor, values: { name: string; version: number; document: unknown; authorId: string }) {
  const [row] = await executor
    .insert(policies)
    .values(values)
    .returning({ id: policies.id, name: policies.name, version: policies.version });
  return row;
}

/** Whether the version was ever activated or scheduled (cancelled schedules included) or made a run: then it stays for good. */
export async function policyHasHistory(executor: Executor, id: string): Promise<boolean> {
  const { rows } = await executor.execute<{ kept: boolean }>(sql`
    select exists (select 1 from policy_activations where policy_id = ${id})
        or exists (select 1 from meta_model_runs where policy_id = ${id}) as kept`);
  return rows[0].kept;
}

export async function insertPolicyRejection(executor: Executor, values: { policyId: string; rejectedBy: string; reason: string }) {
  const [row] = await executor.insert(policyRejections).values(values).returning();
  return row;
}

/** Deletes a draft (the database refuses a version that was activated, scheduled or rejected). */
export async function deletePolicyVersion(executor: Executor, id: string): Promise<void> {
  await executor.delete(policies).where(eq(policies.id, id));
}

/** The numbers of the latest `count` eras that have a universe, newest first. */
export async function erasWithUniverse(executor: Executor, count: number): Promise<number[]> {
  const rows = await executor.select({ number: eras.number }).from(eras).where(sql`${eras.universeSize} > 0`).orderBy(desc(eras.number)).limit(count);
  return rows.map((r) => r.number);
}

/** The eras open now (opened, not closed, before closesAt) that have a universe, by number. */
export async function openErasWithUniverse(executor: Executor): Promise<number[]> {
  const rows = await executor
    .select({ number: eras.number })
    .from(eras)
    .where(sql`${eras.universeSize} > 0 and ${eras.closedAt} is null and ${eras.opensAt} <= now() and ${eras.closesAt} > now()`)
    .orderBy(eras.number);
  return rows.map((r) => r.number);
}

/**
 * Activations take it exclusively, closes shared: a close reads the version for its era either
 * before an activation or after it, never while it picks its first era.
 */
export async function lockActivations(executor: Executor, mode: 'exclusive' | 'shared') {
  await executor.execute(mode === 'exclusive' ? sql`select pg_advisory_xact_lock(${LOCK_CLASS.policy}, 0)` : sql`select pg_advisory_xact_lock_shared(${LOCK_CLASS.policy}, 0)`);
}

/** Serialises version numbering per policy name. */
export async function lockPolicyName(executor: Executor, name: string) {
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.policy}, hashtext(${name}))`);
}

/** The first era an activation "at once" applies to: one past the last era closed or past its closesAt (0 with none). */
export async function openingEra(executor: Executor): Promise<number> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select coalesce(max(number) + 1, 0)::int as era from eras where closed_at is not null or closes_at <= now()`);
  return rows[0].era;
}

/** The version in force for an era: the latest activation from that era or before. */
export async function policyRowForEra(executor: Executor, era: number) {
  const [row] = await executor
    .select({ id: policies.id, name: policies.name, version: policies.version, document: policies.document, activationId: policyActivations.id })
    .from(policyActivations)
    .innerJoin(policies, eq(policies.id, policyActivations.policyId))
    .where(and(isNull(policyActivations.cancelledAt), lte(policyActivations.fromEra, era)))
    .orderBy(desc(policyActivations.fromEra), desc(policyActivations.id))
    .limit(1);
  return row ?? null;
}

/** Every activation not cancelled, in the order they take force. */
export async function policyActivationRows(executor: Executor): Promise<ActivationRow[]> {
  const rows = await executor
    .select({
      id: policyActivations.id,
      policyId: policies.id,
      name: policies.name,
      version: policies.version,
      document: policies.document,
      fromEra: policyActivations.fromEra,
      scheduled: policyActivations.scheduled,
      activatedAt: policyActivations.activatedAt,
      activatorId: accounts.id,
      activatorName: accounts.name,
      reason: policyActivations.reason,
    })
    .from(policyActivations)
    .innerJoin(policies, eq(policies.id, policyActivations.policyId))
    .leftJoin(accounts, eq(accounts.id, policyActivations.activatedBy))
    .where(isNull(policyActivations.cancelledAt))
    .orderBy(asc(policyActivations.fromEra), asc(policyActivations.id));
  return rows.map(({ activatorId, activatorName, ...row }) => ({ ...row, activatedBy: activatorId === null ? null : { id: activatorId, name: activatorName! } }));
}

export async function insertPolicyActivation(executor: Executor, values: { policyId: string; fromEra: number; scheduled: boolean; activatedBy: string; reason: string }) {
  const [row] = await executor.insert(policyActivations).values(values).returning();
  return row;
}

/** Cancels the given activations (schedules that have not taken force), those not cancelled yet; returns them. */
export async function cancelPolicyActivations(executor: Executor, ids: number[], by: number) {
  if (ids.length === 0) return [];
  return executor
    .update(policyActivations)
    .set({ cancelledAt: sql`now()`, cancelledBy: by })
    .where(and(isNull(policyActivations.cancelledAt), inArray(policyActivations.id, ids)))
    .returning({ id: policyActivations.id, policyId: policyActivations.policyId, fromEra: policyActivations.fromEra });
}

/** When an era's cutoff passed (least of closesAt and closedAt), if the era exists. */
export async function cutoffBefore(executor: Executor, era: number): Promise<Date | null> {
  const { rows } = await executor.execute<{ at: Date | null }>(sql`
    select max(least(closes_at, coalesce(closed_at, closes_at))) as at from eras where number < ${era} and (closed_at is not null or closes_at <= now())`);
  return rows[0]?.at === null || rows[0]?.at === undefined ? null : new Date(rows[0].at);
}
