import { sql } from 'drizzle-orm';
import type { Executor } from './client.js';

/**
 * Era partitions of submissions and run_inputs (migration 0021): submissions_e<N> and
 * run_inputs_e<N> hold era N's rows; a DEFAULT partition of each catches the rows of an era whose
 * partition was not made ahead. ensure_era_partitions() makes them, under the advisory lock
 * LOCK_CLASS.partitions (src/db/locks.ts), idempotently: replicas making the same eras' partitions
 * at once wait for each other and the later ones find them made.
 */

/** The partitioned tables, in the order a detach takes them (run_inputs references submissions). */
export const PARTITIONED = ['run_inputs', 'submissions'] as const;
export type PartitionedTable = (typeof PARTITIONED)[number];

/** The name of era `era`'s partition of `table`. */
export const partitionName = (table: PartitionedTable, era: number) => `${table}_e${era}`;

/**
 * Makes the eras' partitions that do not exist yet, in the caller's transaction, and returns how
 * many it made. Making a partition takes SHARE ROW EXCLUSIVE on the tables its foreign keys name
 * (eras, models, meta_model_runs, submissions and the era's submissions partition, run_inputs:
 * run_inputs_e<N>'s key references submissions_e<N>, migration 0024) and ACCESS EXCLUSIVE on the DEFAULT
 * partitions: ensure_era_partitions() takes them all first and without waiting, so it never holds
 * one while waiting for another (which could close a deadlock with a reader or writer of those
 * tables). When one is held it fails with 55P03 (`isLockNotAvailable`) and the caller tries again
 * in a new transaction (services/retention.ts `makeEraPartitions`); run it in a transaction of its
 * own, never inside one holding other locks.
 */
export async function ensureEraPartitions(tx: Executor, eras: readonly number[]): Promise<number> {
  let made = 0;
  for (const era of [...eras].sort((a, b) => a - b)) {
    const { rows } = await tx.execute<{ made: number }>(sql`select ensure_era_partitions(${era}::int) as made`);
    made += rows[0].made;
  }
  if (made > 0) await fitStoreSubmissionPlans(tx);
  return made;
}

/**
 * Sets how store_submission plans its statements on submissions from the number of partitions
 * (migration 0026): generic plans while there are at most 100, planned for each call above. Run
 * it in the transaction that made or detached partitions; true when the plans are generic.
 */
export async function fitStoreSubmissionPlans(tx: Executor): Promise<boolean> {
  const { rows } = await tx.execute<{ generic: boolean }>(sql`select fit_store_submission_plans() as generic`);
  return rows[0].generic;
}

/** Eras partitions should exist for: every era neither resolved nor archived, and the next `ahead` numbers after the highest. */
export async function erasToPartition(executor: Executor, ahead: number): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select number as era from eras e
    where e.resolved_at is null and not exists (select 1 from era_storage st where st.era_number = e.number and st.detached_at is not null)
    union
    select coalesce((select max(number) from eras), 0) + k from generate_series(1, ${ahead}::int) k
    order by era`);
  return rows.map((r) => r.era);
}

/** Eras whose rows sit in a DEFAULT partition (their own partition was not made in time). */
export async function erasInDefault(executor: Executor): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select era_number as era from submissions_default union select era_number from run_inputs_default order by era`);
  return rows.map((r) => r.era);
}

/** Whether era `era` has its own partition of `table`. */
export async function hasPartition(executor: Executor, table: PartitionedTable, era: number): Promise<boolean> {
  const { rows } = await executor.execute<{ found: boolean }>(sql`
    select exists (
      select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${table}::regclass and c.relname = ${partitionName(table, era)}) as found`);
  return rows[0].found;
}

/** Bytes on disk of era `era`'s rows of `table` (its partition with indexes and TOAST; 0 without one). */
export async function partitionBytes(executor: Executor, table: PartitionedTable, era: number): Promise<number> {
  const { rows } = await executor.execute<{ bytes: string }>(sql`
    select coalesce(pg_total_relation_size(to_regclass(${`public.${partitionName(table, era)}`})), 0)::text as bytes`);
  return Number(rows[0].bytes);
}
