import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import { accounts, apiKeys } from '../db/schema.js';
import { notFound } from '../errors.js';
import type { AuditService } from './audit.js';

export type Role = 'admin' | 'operator' | 'author';
export const ROLES: readonly Role[] = ['admin', 'operator', 'author'];

/** Who is calling: resolved from the bearer key on every request (revocation is immediate). */
export interface Principal {
  accountId: string;
  name: string;
  role: Role;
  keyId: string;
}

const KEY_PREFIX = 'sw_';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function accountsService(db: Database, pool: pg.Pool, audit: AuditService) {
  async function insertKey(tx: Pick<Database, 'insert'>, accountId: string, secret: string) {
    const [key] = await tx
      .insert(apiKeys)
      .values({ accountId, secretHash: hashSecret(secret), hint: secret.slice(0, KEY_PREFIX.length + 6) })
      .returning({ id: apiKeys.id, createdAt: apiKeys.createdAt });
    return key;
  }

  return {
    /** On every request: a named prepared statement, planned once per connection. */
    async authenticate(secret: string): Promise<Principal | null> {
      const { rows } = await pool.query<Principal>({
        name: 'authenticate',
        text: `select a.id as "accountId", a.name, a.role, k.id as "keyId"
               from api_keys k join accounts a on a.id = k.account_id
               where k.secret_hash = $1 and k.revoked_at is null`,
        values: [hashSecret(secret)],
      });
      return rows[0] ?? null;
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
      return db.transaction(async (tx) => {
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
    },

    /** Makes an admin key with exactly this secret exist; a key an admin revoked stays revoked. */
    async ensureBootstrapAdmin(secret: string): Promise<void> {
      await db.transaction(async (tx) => {
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
