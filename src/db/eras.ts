import { asc, desc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { eras } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/**
 * The eras table's data access: an era's row, its window and its closing. The universe's ids
 * live in src/db/universes.ts; an era's universe digest and size are set here.
 */

export type EraRow = typeof eras.$inferSelect;
export type NewEraRow = typeof eras.$inferInsert;

/** Advisory lock class of an era's close (two-key form, the era number second; see src/db/ledger.ts). */

export async function findEra(executor: Executor, number: number): Promise<EraRow | undefined> {
  const [era] = await executor.select().from(eras).where(eq(eras.number, number));
  return era;
}

/** The latest `count` resolved eras by number, newest first, with their main target. */
export async function latestResolvedEras(executor: Executor, count: number): Promise<{ number: number; mainTarget: string }[]> {
  return executor.select({ number: eras.number, mainTarget: eras.mainTarget }).from(eras).where(isNotNull(eras.resolvedAt)).orderBy(desc(eras.number)).limit(count);
}

/**
 * The era's row, locked for the rest of the transaction: FOR UPDATE (closing, replacing the
 * universe) or FOR NO KEY UPDATE (target uploads, recomputes: late submissions, which take KEY
 * SHARE, go on).
 */
export async function lockEra(executor: Executor, number: number, strength: 'update' | 'no key update'): Promise<EraRow | undefined> {
  const [era] = await executor.select().from(eras).where(eq(eras.number, number)).for(strength);
  return era;
}

export async function listEras(executor: Executor): Promise<EraRow[]> {
  return executor.select().from(eras).orderBy(asc(eras.number));
}

/** The era whose window contains now and is not closed; the latest such when several overlap. */
export async function currentEra(executor: Executor): Promise<EraRow | undefined> {
  const [era] = await executor
    .select()
    .from(eras)
    .where(sql`${eras.opensAt} <= now() and ${eras.closesAt} > now() and ${eras.closedAt} is null`)
    .orderBy(sql`${eras.number} desc`)
    .limit(1);
  return era;
}

/** Throws the unique violation (src/db/errors.ts) when the number is taken. */
export async function insertEra(executor: Executor, values: NewEraRow): Promise<EraRow> {
  const [era] = await executor.insert(eras).values(values).returning();
  return era;
}

export async function setUniverse(executor: Executor, number: number, universe: { size: number; digest: string }): Promise<void> {
  await executor.update(eras).set({ universeSize: universe.size, universeDigest: universe.digest }).where(eq(eras.number, number));
}

/**
 * Stamps the cutoff: closesAt, or now if that is earlier (an operator closing early). A
 * scheduler that closes late still cuts off at closesAt, as submissions do.
 */
export async function markClosed(executor: Executor, number: number): Promise<EraRow> {
  const [era] = await executor
    .update(eras)
    .set({ closedAt: sql`least(${eras.closesAt}, clock_timestamp())` })
    .where(eq(eras.number, number))
    .returning();
  return era;
}

/** Eras past closesAt that nobody closed yet and that have a universe, oldest cutoff first. */
export async function dueEras(executor: Executor, limit: number): Promise<number[]> {
  const rows = await executor
    .select({ number: eras.number })
    .from(eras)
    .where(sql`${eras.closedAt} is null and ${eras.closesAt} <= now() and ${eras.universeDigest} is not null`)
    .orderBy(asc(eras.closesAt), asc(eras.number))
    .limit(limit);
  return rows.map((r) => r.number);
}

/**
 * Tries the era's close lock for the rest of the transaction on `client`; false when another
 * session (another replica's scheduler) holds it.
 */
export async function tryLockClose(executor: Executor, number: number): Promise<boolean> {
  const { rows } = await executor.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${LOCK_CLASS.close}, ${number}) as locked`);
  return rows[0].locked;
}

/** Marks the era resolved now, returning its row; the caller holds its row lock (lockEra). */
export async function markEraResolved(executor: Executor, number: number) {
  const [resolved] = await executor.update(eras).set({ resolvedAt: sql`now()` }).where(eq(eras.number, number)).returning();
  return resolved;
}
