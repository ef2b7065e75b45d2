import { and, asc, desc, eq, ilike, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { accounts, apiKeys } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/** An account as stored: its name and role (neither ever changes), its status and who made and confirmed it. */
export type AccountRow = typeof accounts.$inferSelect;

export type Role = AccountRow['role'];
/** Every role, as the table's enum lists them. */
export const ROLES: readonly Role[] = accounts.role.enumValues;

export type AccountStatus = AccountRow['status'];
export const ACCOUNT_STATUSES: readonly AccountStatus[] = accounts.status.enumValues;

export async function insertAccount(tx: Executor, account: Pick<AccountRow, 'name' | 'role' | 'status' | 'createdBy'>): Promise<AccountRow> {
  const [row] = await tx.insert(accounts).values(account).returning();
  return row;
}

/** Locks the account's row (key creations, confirmation and disabling of it queue on it) and returns it. */
export async function lockAccount(tx: Executor, accountId: string): Promise<AccountRow | null> {
  const [row] = await tx.select().from(accounts).where(eq(accounts.id, accountId)).for('update');
  return row ?? null;
}

/** Holds the bootstrap lock to the end of the transaction: one replica at a time checks for the bootstrap key and makes it. */
export async function lockBootstrap(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.bootstrap}, 0)`);
}

/**
 * The account's status, its row share-locked to the end of the transaction: a change of status in
 * flight (a disabling) commits before this reads, or waits until the transaction ends.
 */
export async function accountStatusShared(tx: Executor, accountId: string): Promise<AccountStatus | null> {
  const [row] = await tx.select({ status: accounts.status }).from(accounts).where(eq(accounts.id, accountId)).for('share');
  return row?.status ?? null;
}

export async function markConfirmed(tx: Executor, accountId: string, confirmedBy: string): Promise<void> {
  await tx.update(accounts).set({ status: 'active', confirmedBy, confirmedAt: sql`now()` }).where(eq(accounts.id, accountId));
}

/** Marks the account disabled and revokes every key it still holds; returns the revoked keys' ids. */
export async function markDisabled(tx: Executor, accountId: string): Promise<string[]> {
  await tx.update(accounts).set({ status: 'disabled', disabledAt: sql`now()` }).where(eq(accounts.id, accountId));
  const revoked = await tx
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.map((k) => k.id);
}

/** Which accounts a listing holds: a role, a search (part of the name, or the whole id), and at most `limit`. */
export interface AccountFilter {
  role?: Role;
  q?: string;
  id?: string;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `%`, `_` and `\` in a search are themselves, not patterns. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The matching accounts by name, each with its keys that are not revoked (newest first; expired ones included, so they can be revoked). */
export async function listAccounts(executor: Executor, filter: AccountFilter) {
  const conditions: SQL[] = [];
  if (filter.id) conditions.push(eq(accounts.id, filter.id));
  if (filter.role) conditions.push(eq(accounts.role, filter.role));
  if (filter.q) {
    const byName = ilike(accounts.name, `%${likeLiteral(filter.q)}%`);
    conditions.push(UUID.test(filter.q) ? or(byName, eq(accounts.id, filter.q))! : byName);
  }
  const rows = await executor
    .select({ id: accounts.id, name: accounts.name, role: accounts.role, status: accounts.status, createdAt: accounts.createdAt, createdBy: accounts.createdBy })
    .from(accounts)
    .where(and(...conditions))
    .orderBy(asc(accounts.name), asc(accounts.id))
    .limit(filter.limit);
  if (rows.length === 0) return [];
  const keys = await executor
    .select({ accountId: apiKeys.accountId, id: apiKeys.id, hint: apiKeys.hint, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt, createdAt: apiKeys.createdAt })
    .from(apiKeys)
    .where(and(inArray(apiKeys.accountId, rows.map((r) => r.id)), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt));
  const byAccount = new Map<string, Omit<(typeof keys)[number], 'accountId'>[]>();
  for (const { accountId, ...key } of keys) byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), key]);
  return rows.map((row) => ({ ...row, keys: byAccount.get(row.id) ?? [] }));
}
