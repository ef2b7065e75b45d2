import { eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { accounts } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/** An account as stored: its name and its role (neither ever changes). */
export type AccountRow = typeof accounts.$inferSelect;

export type Role = AccountRow['role'];
/** Every role, as the table's enum lists them. */
export const ROLES: readonly Role[] = accounts.role.enumValues;

export async function insertAccount(tx: Executor, account: Pick<AccountRow, 'name' | 'role'>): Promise<AccountRow> {
  const [row] = await tx.insert(accounts).values(account).returning();
  return row;
}

/** Locks the account's row, so concurrent key creations for it count one after the other. */
export async function lockAccount(tx: Executor, accountId: string) {
  const [row] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId)).for('update');
  return row ?? null;
}

/** Holds the bootstrap lock to the end of the transaction: one replica at a time checks for the bootstrap key and makes it. */
export async function lockBootstrap(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.bootstrap}, 0)`);
}
