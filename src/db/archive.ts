import { isNotNull, sql } from 'drizzle-orm';
import type pg from 'pg';
import { binaryCopyParser, copyOut } from './copy-binary.js';
import type { Executor } from './client.js';
import { LOCK_CLASS } from './locks.js';
import { fitStoreSubmissionPlans, hasPartition, PARTITIONED, partitionName } from './partitions.js';
import { eraStorage } from './schema.js';

/**
 * Retention and archiving of era partitions (docs/operations.md). Every step is recorded in
 * era_storage and is idempotent: a step that ran is not run again, and a step cut short by a
 * crash is run again whole.
 */

/** Takes the retention lock (LOCK_CLASS.partitions, 1) for the transaction if free: false when another replica holds it. */
export async function tryRetentionLock(tx: Executor): Promise<boolean> {
  const { rows } = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${LOCK_CLASS.partitions}, 1) as locked`);
  return rows[0].locked;
}

/** Resolved eras whose superseded submissions still have their raw values recorded as kept, oldest first. */
export async function erasWithSupersededValues(executor: Executor): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select e.number as era from eras e left join era_storage st on st.era_number = e.number
    where e.resolved_at is not null and st.superseded_values_dropped_at is null and st.detached_at is null
    order by e.number`);
  return rows.map((r) => r.era);
}

/** Resolved eras older than the latest `retain` resolved ones whose current submissions keep their raw values, oldest first. */
export async function erasPastRetention(executor: Executor, retain: number): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select e.number as era from eras e left join era_storage st on st.era_number = e.number
    where e.resolved_at is not null and st.values_dropped_at is null and st.detached_at is null
      and e.number < coalesce((select min(number) from (select number from eras where resolved_at is not null order by number desc limit ${retain}) kept), 2147483647)
    order by e.number`);
  return rows.map((r) => r.era);
}

/**
 * Drops the raw values of era `era`'s submissions (its superseded ones only, or all of them) and
 * records it. Their sha256, rank codes and everything else stay. Returns how many were dropped.
 */
export async function dropRawValues(tx: Executor, era: number, which: 'superseded' | 'all'): Promise<number> {
  const { rowCount } = await tx.execute(sql`
    update submissions set raw = null
    where era_number = ${era} and raw is not null ${which === 'superseded' ? sql`and superseded` : sql``}`);
  const stamp = which === 'superseded' ? sql`superseded_values_dropped_at` : sql`values_dropped_at`;
  const both = which === 'all' ? sql`, superseded_values_dropped_at = coalesce(era_storage.superseded_values_dropped_at, now())` : sql``;
  await tx.execute(sql`
    insert into era_storage (era_number, ${stamp}) values (${era}, now())
    on conflict (era_number) do update set ${stamp} = now() ${both}`);
  return rowCount ?? 0;
}

/**
 * Rewrites era `era`'s submissions partition (CLUSTER on its key, in the caller's transaction) so
 * the space of dropped values goes back to the disk: an era's partition gets no new rows to reuse
 * it. The partition is locked ACCESS EXCLUSIVE while it is rewritten; `lockTimeoutMs` bounds the
 * wait for that lock (a timeout fails the transaction, and nothing changed).
 */
export async function compactSubmissions(tx: Executor, era: number, lockTimeoutMs: number): Promise<void> {
  const name = partitionName('submissions', era);
  const { rows } = await tx.execute<{ index: string | null }>(sql`
    select (select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
            where i.indrelid = to_regclass(${`public.${name}`}) and i.indisprimary) as index`);
  const index = rows[0]?.index;
  if (!index) return;
  await tx.execute(sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`);
  await tx.execute(sql.raw(`cluster ${name} using ${index}`));
  await tx.execute(sql`update era_storage set compacted_at = now() where era_number = ${era}`);
}

/**
 * Eras whose values were dropped at least `afterMs` ago and whose partition was not rewritten
 * since. The wait lets transactions that may still see the old values end: a rewrite keeps what
 * a running transaction could read, so one made too early gives nothing back.
 */
export async function erasToCompact(executor: Executor, afterMs: number): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select era_number as era from era_storage
    where detached_at is null
      and greatest(superseded_values_dropped_at, values_dropped_at) <= now() - ${afterMs} * interval '1 millisecond'
      and (compacted_at is null or compacted_at < greatest(superseded_values_dropped_at, values_dropped_at))
    order by era_number`);
  return rows.map((r) => r.era);
}

export type EraStorage = typeof eraStorage.$inferSelect;

/** Whether era `era`'s submissions and run inputs left the database (detached, archived or being archived). */
export async function isDetached(executor: Executor, era: number): Promise<boolean> {
  const { rows } = await executor.execute<{ detached: boolean }>(sql`
    select exists (select 1 from era_storage where era_number = ${era} and detached_at is not null) as detached`);
  return rows[0].detached;
}

/** Eras whose partitions were detached (archived, or being archived). */
export async function detachedEras(executor: Executor): Promise<EraStorage[]> {
  return executor.select().from(eraStorage).where(isNotNull(eraStorage.detachedAt)).orderBy(eraStorage.eraNumber);
}

/** The era's row locked for the archive, with whether it is resolved and what was done to it; undefined when there is no such era. */
export async function lockEraForArchive(tx: Executor, era: number) {
  await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.partitions}, 2)`);
  const { rows } = await tx.execute<{ resolved: boolean; detachedAt: Date | null; archivedAt: Date | null }>(sql`
    select e.resolved_at is not null as resolved, st.detached_at as "detachedAt", st.archived_at as "archivedAt"
    from eras e left join era_storage st on st.era_number = e.number
    where e.number = ${era} for update of e`);
  return rows[0];
}

/** Resolved eras before `before` not archived yet, oldest first; and the unresolved ones before it. */
export async function erasBefore(executor: Executor, before: number) {
  const { rows } = await executor.execute<{ era: number; resolved: boolean }>(sql`
    select e.number as era, e.resolved_at is not null as resolved
    from eras e left join era_storage st on st.era_number = e.number
    where e.number < ${before} and st.archived_at is null order by e.number`);
  return { resolved: rows.filter((r) => r.resolved).map((r) => r.era), unresolved: rows.filter((r) => !r.resolved).map((r) => r.era) };
}


/**
 * Takes era `era`'s rows out of both partitioned tables into standalone tables named as its
 * partitions, and records it: its own partitions are detached (the parent is locked ACCESS
 * EXCLUSIVE for an instant; `lockTimeoutMs` bounds the wait); rows an era left in a DEFAULT
 * partition are moved out. run_inputs first: its rows reference the submissions.
 */
export async function detachEra(tx: Executor, era: number, lockTimeoutMs: number): Promise<void> {
  await tx.execute(sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`);
  for (const table of PARTITIONED) {
    const name = partitionName(table, era);
    if (await hasPartition(tx, table, era)) {
      await tx.execute(sql.raw(`alter table ${table} detach partition ${name}`));
      // A detached table keeps its copies of the parent's foreign keys, and run_inputs_e<N> its own
      // key to submissions_e<N> (migration 0024): a copy of the rows needs none, and that key would
      // stop the era's submissions from leaving.
      const { rows: keys } = await tx.execute<{ name: string }>(sql`
        select conname as name from pg_constraint where conrelid = ${name}::regclass and contype = 'f' and conparentid = 0`);
      for (const key of keys) await tx.execute(sql.raw(`alter table ${name} drop constraint "${key.name}"`));
    } else {
      await tx.execute(sql.raw(`create table if not exists ${name} (like ${table} including defaults including constraints including storage)`));
      await tx.execute(sql.raw(`with moved as (delete from ${table}_default where era_number = ${era} returning *) insert into ${name} select * from moved`));
    }
  }
  await fitStoreSubmissionPlans(tx);
  await tx.execute(sql`
    insert into era_storage (era_number, detached_at) values (${era}, now())
    on conflict (era_number) do update set detached_at = coalesce(era_storage.detached_at, now())`);
}

/**
 * Streams a detached table out as binary COPY (PostgreSQL's format, read back by COPY ... FROM
 * ... (FORMAT binary)) chunk by chunk, and returns how many rows it held. The one function here
 * that takes a raw client: COPY streams.
 */
export async function copyTableOut(client: pg.PoolClient, table: string, onChunk: (chunk: Buffer) => void): Promise<number> {
  let rows = 0;
  const count = binaryCopyParser(() => rows++);
  await copyOut(client, `copy ${client.escapeIdentifier(table)} to stdout (format binary)`, (chunk) => {
    count(chunk);
    onChunk(chunk);
  });
  return rows;
}

/** Rows of a detached table. */
export async function detachedRows(executor: Executor, table: string): Promise<number> {
  const { rows } = await executor.execute<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return rows[0].n;
}

/** Drops era `era`'s detached tables and records the archive's manifest. */
export async function dropDetached(tx: Executor, era: number, manifest: unknown): Promise<void> {
  // A detached table keeps its partition's name until it is dropped.
  for (const table of PARTITIONED) await tx.execute(sql.raw(`drop table if exists ${partitionName(table, era)}`));
  await tx.execute(sql`update era_storage set archived_at = now(), archive = ${JSON.stringify(manifest)}::jsonb where era_number = ${era}`);
}
