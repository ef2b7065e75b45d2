import { and, asc, desc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { accounts, policies, policyActivations } from './schema.js';

/** An activation that has not been cancelled, with its version. */
export interface ActivationRow {
  id: number;
  policyId: string;
  name: string;
  version: number;
  document: unknown;
  fromEra: number;
  scheduled: boolean;
  activatedAt: Date;
  activatedBy: { id: string; name: string } | null;
  reason: string;
}

// Two-key advisory locks live apart from the one-key space the migrator uses.
const LOCK_CLASS = 0x5057; // "PW"
const ACTIVATION_LOCK = 0;

/** The policy versions and which of them is in force for which eras (the activations table). */
export function policiesDal(executor: Executor) {
  return {
    /**
     * Activations take it exclusively, closes shared: a close reads the version for its era either
     * before an activation or after it, never while it picks its first era.
     */
    async lockActivations(mode: 'exclusive' | 'shared') {
      await executor.execute(mode === 'exclusive' ? sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${ACTIVATION_LOCK})` : sql`select pg_advisory_xact_lock_shared(${LOCK_CLASS}, ${ACTIVATION_LOCK})`);
    },

    /** Serialises version numbering per policy name. */
    async lockName(name: string) {
      await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${name}))`);
    },

    /** The first era an activation "at once" applies to: one past the last era closed or past its closesAt (0 with none). */
    async openingEra(): Promise<number> {
      const { rows } = await executor.execute<{ era: number }>(sql`
        select coalesce(max(number) + 1, 0)::int as era from eras where closed_at is not null or closes_at <= now()`);
      return rows[0].era;
    },

    /** The version in force for an era: the latest activation from that era or before. */
    async versionForEra(era: number) {
      const [row] = await executor
        .select({ id: policies.id, name: policies.name, version: policies.version, document: policies.document, activationId: policyActivations.id })
        .from(policyActivations)
        .innerJoin(policies, eq(policies.id, policyActivations.policyId))
        .where(and(isNull(policyActivations.cancelledAt), lte(policyActivations.fromEra, era)))
        .orderBy(desc(policyActivations.fromEra), desc(policyActivations.id))
        .limit(1);
      return row ?? null;
    },

    /** Every activation not cancelled, in the order they take force. */
    async activations(): Promise<ActivationRow[]> {
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
    },

    async insertActivation(values: { policyId: string; fromEra: number; scheduled: boolean; activatedBy: string; reason: string }) {
      const [row] = await executor.insert(policyActivations).values(values).returning();
      return row;
    },

    /** Cancels the schedules that have not taken force (from an era after `opening`); returns them. */
    async cancelPending(opening: number, by: number) {
      return executor
        .update(policyActivations)
        .set({ cancelledAt: sql`now()`, cancelledBy: by })
        .where(and(isNull(policyActivations.cancelledAt), gt(policyActivations.fromEra, opening), sql`${policyActivations.id} <> ${by}`))
        .returning({ id: policyActivations.id, policyId: policyActivations.policyId, fromEra: policyActivations.fromEra });
    },

    /** When an era's cutoff passed (least of closesAt and closedAt), if the era exists. */
    async cutoffBefore(era: number): Promise<Date | null> {
      const { rows } = await executor.execute<{ at: Date | null }>(sql`
        select max(least(closes_at, coalesce(closed_at, closes_at))) as at from eras where number < ${era} and (closed_at is not null or closes_at <= now())`);
      return rows[0]?.at === null || rows[0]?.at === undefined ? null : new Date(rows[0].at);
    },
  };
}
