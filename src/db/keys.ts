import { and, desc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import type { AccountRow } from './accounts.js';
import { accounts, apiKeys } from './schema.js';

/** A key as stored (its secret only as a hash). */
export type KeyRow = typeof apiKeys.$inferSelect;

/** What a key may do: `all` is everything its account's role may; the others narrow it. */
export type Scope = KeyRow['scopes'][number];

// Each scope once, in the order stored lists keep; `satisfies` holds it to the table's enum.
const SCOPE_ORDER = { all: 0, submit: 1, stake: 2, read: 3 } satisfies Record<Scope, number>;
/** Every scope, in the order a key's stored list keeps them. */
export const SCOPES = Object.keys(SCOPE_ORDER) as readonly Scope[];

/** A live key's account and limits, as authentication reads them. */
export type KeyHolder = {
  accountId: AccountRow['id'];
  name: AccountRow['name'];
  role: AccountRow['role'];
  /** `active` or `pending` (a disabled account's keys are not found). */
  status: AccountRow['status'];
  keyId: KeyRow['id'];
  scopes: KeyRow['scopes'];
  expiresAt: KeyRow['expiresAt'];
};

/**
 * The key with this secret hash, unless revoked or its account disabled (an expired key is
 * returned: the caller says it expired; so is a pending account's: the caller refuses it).
 * A named prepared statement, planned once per connection: it runs on every request.
 */
export async function findKeyByHash(executor: Executor, secretHash: string): Promise<KeyHolder | null> {
  const [holder] = await executor
    .select({
      accountId: accounts.id,
      name: accounts.name,
      role: accounts.role,
      status: accounts.status,
      keyId: apiKeys.id,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
    })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.secretHash, sql.placeholder('secretHash')), isNull(apiKeys.revokedAt), ne(accounts.status, 'disabled')))
    .prepare('authenticate')
    .execute({ secretHash });
  return holder ?? null;
}

/** A key neither revoked nor expired (store_submission, migration 0021, checks the same in SQL). */
const liveKey = and(isNull(apiKeys.revokedAt), sql`(${apiKeys.expiresAt} is null or ${apiKeys.expiresAt} > now())`);

/** Whether the key is neither revoked nor expired (a named prepared statement: refusals re-check on every one). */
export async function keyIsLive(executor: Executor, keyId: string): Promise<boolean> {
  const rows = await executor
    .select({ one: sql<number>`1` })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, sql.placeholder('keyId')), liveKey))
    .prepare('key-is-live')
    .execute({ keyId });
  return rows.length > 0;
}

/** What a new key is stored with: every column the database would otherwise default, given. */
export type NewKey = Required<Pick<typeof apiKeys.$inferInsert, 'accountId' | 'secretHash' | 'hint' | 'scopes' | 'expiresAt'>>;

export async function insertKey(tx: Executor, key: NewKey) {
  const [row] = await tx
    .insert(apiKeys)
    .values(key)
    .returning({ id: apiKeys.id, createdAt: apiKeys.createdAt, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt });
  return row;
}

/** An account's keys that are not revoked, newest first (expired ones included, so they can be revoked). */
export async function listLiveKeys(tx: Executor, accountId: string) {
  return tx
    .select({ id: apiKeys.id, hint: apiKeys.hint, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt, createdAt: apiKeys.createdAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt));
}

/** Live (not revoked, not expired) keys of the account. */
export async function countUsableKeys(tx: Executor, accountId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, accountId), liveKey));
  return row.n;
}

export async function accountHoldsKey(tx: Executor, accountId: string, keyId: string): Promise<boolean> {
  const rows = await tx.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.id, keyId), eq(apiKeys.accountId, accountId)));
  return rows.length > 0;
}

/** The key's row, locked until the transaction ends (revocations of one key queue on it). */
export async function lockKey(tx: Executor, keyId: string) {
  const [key] = await tx.select().from(apiKeys).where(eq(apiKeys.id, keyId)).for('update');
  return key;
}

/** Marks the key revoked now. */
export async function markRevoked(tx: Executor, keyId: string) {
  const [revoked] = await tx
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(eq(apiKeys.id, keyId))
    .returning({ id: apiKeys.id, revokedAt: apiKeys.revokedAt });
  return revoked;
}

/** Whether a key with this secret hash exists, revoked or not. */
export async function keyWithHashExists(tx: Executor, secretHash: string): Promise<boolean> {
  const [existing] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.secretHash, secretHash));
  return existing !== undefined;
}
