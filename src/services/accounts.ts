import { createHash, randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import { accounts, apiKeys } from '../db/schema.js';
import { notFound } from '../errors.js';
import type { AuditService } from './audit.js';

export type Role = 'admin' | 'operator' | 'author';
export const ROLES: readonly Role[] = ['admin', 'operator', 'author'];

/** Who is calling: resolved from the bearer key on every request (revocation is immediate; see authenticateRemembered). */
export interface Principal {
  accountId: string;
  name: string;
  role: Role;
  keyId: string;
}

const KEY_PREFIX = 'sw_';

/** What a request with an unknown or revoked key is told. */
export const REVOKED = 'The API key is unknown or has been revoked';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Two-key advisory lock (with 0) that replicas starting together take to create the bootstrap admin once. */
const BOOTSTRAP_LOCK = 0x53570003;

/** How many live keys a process remembers for the submission route (the oldest goes first). */
const REMEMBERED_KEYS = 10_000;

export function accountsService(db: Database, pool: pg.Pool, audit: AuditService) {
  // Live keys seen by this process, by secret hash (accounts and their roles never change).
  // Only routes whose write checks the key use it (see authenticateRemembered).
  const remembered = new Map<string, Principal>();

  /** Drops a key from this process's memory of live keys. */
  function forget(keyId: string): void {
    for (const [secretHash, principal] of remembered) if (principal.keyId === keyId) remembered.delete(secretHash);
  }

  async function insertKey(tx: Pick<Database, 'insert'>, accountId: string, secret: string) {
    const [key] = await tx
      .insert(apiKeys)
      .values({ accountId, secretHash: hashSecret(secret), hint: secret.slice(0, KEY_PREFIX.length + 6) })
      .returning({ id: apiKeys.id, createdAt: apiKeys.createdAt });
    return key;
  }

  async function lookUp(secretHash: string): Promise<Principal | null> {
    const { rows } = await pool.query<Principal>({
      name: 'authenticate',
      text: `select a.id as "accountId", a.name, a.role, k.id as "keyId"
             from api_keys k join accounts a on a.id = k.account_id
             where k.secret_hash = $1 and k.revoked_at is null`,
      values: [secretHash],
    });
    return rows[0] ?? null;
  }

  return {
    /** On every request: a named prepared statement, planned once per connection. */
    authenticate: (secret: string) => lookUp(hashSecret(secret)),

    /**
     * A key this process has seen live, without a round trip; unknown keys are looked up.
     * Whatever the caller does with the principal must itself check that the key is still
     * live (store_submission does, in the same statement as the write; refusals call isLive),
     * so a key revoked on another replica stops working at once.
     */
    async authenticateRemembered(secret: string): Promise<Principal | null> {
      const secretHash = hashSecret(secret);
      const known = remembered.get(secretHash);
      if (known) return known;
      const principal = await lookUp(secretHash);
      if (principal) {
        if (remembered.size >= REMEMBERED_KEYS) remembered.delete(remembered.keys().next().value as string);
        remembered.set(secretHash, principal);
      }
      return principal;
    },

    /** Whether the key is still live; forgets a remembered key that is not. */
    async isLive(who: Principal): Promise<boolean> {
      const { rows } = await pool.query({
        name: 'key-is-live',
        text: 'select 1 from api_keys where id = $1 and revoked_at is null',
        values: [who.keyId],
      });
      if (rows.length === 0) forget(who.keyId);
      return rows.length > 0;
    },

    async createAccount(actorId: string | null, input: { name: string; role: Role }) {
      const secret = newSecret();
      return db.transaction(async (tx) => {
        const [account] = await tx.insert(accounts).values(input).returning();
        const key = await insertKey(tx, account.id, secret);
        await audit.record(tx, {
          actorId,
          action: 'account.create',
          subject: `account:${account.id}`,
          details: { name: account.name, role: account.role, keyId: key.id },
        });
        return { id: account.id, name: account.name, role: account.role, keyId: key.id, apiKey: secret };
      });
    },

    async createKey(actorId: string | null, accountId: string) {
      const secret = newSecret();
      return db.transaction(async (tx) => {
        const [account] = await tx.select().from(accounts).where(eq(accounts.id, accountId));
        if (!account) throw notFound(`account ${accountId} does not exist`);
        const key = await insertKey(tx, accountId, secret);
        await audit.record(tx, { actorId, action: 'key.create', subject: `account:${accountId}`, details: { keyId: key.id } });
        return { id: key.id, accountId, apiKey: secret, createdAt: key.createdAt };
      });
    },

    async revokeKey(actorId: string | null, keyId: string) {
      const result = await db.transaction(async (tx) => {
        const [key] = await tx.select().from(apiKeys).where(eq(apiKeys.id, keyId)).for('update');
        if (!key) throw notFound(`key ${keyId} does not exist`);
        if (key.revokedAt) return { id: key.id, revokedAt: key.revokedAt };
        const [revoked] = await tx
          .update(apiKeys)
          .set({ revokedAt: new Date() })
          .where(eq(apiKeys.id, keyId))
          .returning({ id: apiKeys.id, revokedAt: apiKeys.revokedAt });
        await audit.record(tx, { actorId, action: 'key.revoke', subject: `account:${key.accountId}`, details: { keyId } });
        return revoked;
      });
      // After the commit, so a lookup racing the revocation cannot remember the key again.
      forget(keyId);
      return result;
    },

    /** Makes an admin key with exactly this secret exist; a key an admin revoked stays revoked. */
    async ensureBootstrapAdmin(secret: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK}, 0)`);
        const [existing] = await tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.secretHash, hashSecret(secret)));
        if (existing) return;
        const [account] = await tx.insert(accounts).values({ name: 'bootstrap-admin', role: 'admin' }).returning();
        const key = await insertKey(tx, account.id, secret);
        await audit.record(tx, {
          actorId: null,
          action: 'account.bootstrap',
          subject: `account:${account.id}`,
          details: { keyId: key.id },
        });
      });
    },
  };
}

export type AccountsService = ReturnType<typeof accountsService>;
