import { createHash, randomBytes } from 'node:crypto';
import { boundedCache } from '../cache.js';
import {
  type AccountFilter,
  ACCOUNT_STATUSES,
  type AccountStatus,
  insertAccount,
  listAccounts,
  lockAccount,
  lockBootstrap,
  markConfirmed,
  markDisabled,
  type Role,
  ROLES,
} from '../db/accounts.js';
import type { Database, DatabaseHandle, Executor } from '../db/client.js';
import {
  accountHoldsKey,
  countUsableKeys,
  findKeyByHash,
  insertKey as insertKeyRow,
  type KeyHolder,
  keyIsLive,
  keyWithHashExists,
  listLiveKeys,
  lockKey,
  markRevoked,
  type Scope,
  SCOPES,
} from '../db/keys.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { type Actor, type AuditService, BOOTSTRAP } from './audit.js';

export type { AccountFilter, AccountStatus, Role, Scope };
export { ACCOUNT_STATUSES, ROLES, SCOPES };

/**
 * Who is calling: resolved from the bearer key on every request (revocation is immediate; see
 * authenticateRemembered). Expiry is checked by the caller, so it can say the key expired.
 */
export type Principal = KeyHolder;

/** What a key may do and until when; a key without them may do all its role may, for ever. */
export interface KeyLimits {
  scopes?: Scope[];
  expiresAt?: Date;
}

/** Keys an account may hold at once when it creates them for itself (each key has its own rate limit). */
export const SELF_SERVICE_KEYS = 20;

const KEY_PREFIX = 'sw_';

/** What a request with an unknown or revoked key is told. */
export const REVOKED = 'The API key is unknown or has been revoked';

/** What a request with a pending admin account's key is told (403, on every route). */
export const PENDING =
  'This admin account awaits confirmation by another admin (POST /v1/accounts/{id}/confirm by an admin other than the one who made it); until then its keys may do nothing';

/** What a request with an expired key is told. */
export const expiredKey = (at: Date) =>
  `The API key expired on ${at.toISOString()}; it cannot make a new one. An admin can issue one for your account (POST /v1/accounts/{id}/keys), ` +
  'or another live key of your account with scope "all" can (POST /v1/me/keys)';

export const isExpired = (who: Pick<Principal, 'expiresAt'>, now = Date.now()) => who.expiresAt !== null && who.expiresAt.getTime() <= now;

/** The scopes as stored: 'all' alone when given, else the distinct ones in a fixed order. */
function normaliseScopes(scopes: readonly Scope[] | undefined): Scope[] {
  if (!scopes || scopes.includes('all')) return ['all'];
  return SCOPES.filter((s) => scopes.includes(s));
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** How many live keys a process remembers for the submission route (the least recently used goes first). */
const REMEMBERED_KEYS = 10_000;

export function accountsService(db: Database, pool: DatabaseHandle['pool'], audit: AuditService) {
  // Live keys seen by this process, by secret hash (accounts, roles and a key's scopes never change).
  // Only routes whose write checks the key take a principal from it (see authenticateRemembered);
  // the failed-authentication throttle asks it whether a key is one this process has seen live.
  const remembered = boundedCache<string, Principal>({
    max: REMEMBERED_KEYS,
    staleness:
      "account names and roles and a key's scopes never change, and the entry holds the key's expiry, which the auth hook checks; " +
      'only keys of active accounts are remembered, and disabling an account revokes its keys; ' +
      'a key revoked since (on any replica) is refused by the write that uses it (store_submission) and, before any ' +
      'other refusal, by refuseRevokedKeys, which forgets it',
  });

  /** Drops a key from this process's memory of live keys (a scan: the memory is keyed by secret hash). */
  function forget(keyId: string): void {
    const hashes = [...remembered.entries()].filter(([, principal]) => principal.keyId === keyId).map(([secretHash]) => secretHash);
    for (const secretHash of hashes) remembered.delete(secretHash);
  }

  function insertKey(tx: Executor, accountId: string, secret: string, limits: KeyLimits = {}) {
    if (limits.expiresAt && limits.expiresAt.getTime() <= Date.now()) {
      throw badRequest(`expiresAt ${limits.expiresAt.toISOString()} is not in the future; give a later time or leave it out`);
    }
    return insertKeyRow(tx, {
      accountId,
      secretHash: hashSecret(secret),
      hint: secret.slice(0, KEY_PREFIX.length + 6),
      scopes: normaliseScopes(limits.scopes),
      expiresAt: limits.expiresAt ?? null,
    });
  }

  /** Looks the key up; a live one is remembered, a refused one forgotten. */
  async function lookUp(secretHash: string): Promise<Principal | null> {
    const principal = await findKeyByHash(db, secretHash);
    if (principal && !isExpired(principal) && principal.status === 'active') remembered.set(secretHash, principal);
    else remembered.delete(secretHash);
    return principal;
  }

  /**
   * A key for `accountId`, made by `actor`. Nobody mints a key for another admin account: whoever
   * held it could act as that admin, and four-eyes would compare one person with itself.
   */
  async function createKeyFor(actor: Principal, accountId: string, limits: KeyLimits, selfService: boolean) {
    const secret = newSecret();
    return db.transaction(async (tx) => {
      const account = await lockAccount(tx, accountId);
      if (!account) throw notFound(`account ${accountId} does not exist`);
      if (account.role === 'admin' && account.id !== actor.accountId) {
        throw forbidden(
          `account ${accountId} is another admin's: no one mints keys for another admin account, since its holder could act as that admin (four-eyes compares people). ` +
            'That admin makes its own keys with POST /v1/me/keys; the operator can make a new admin with npm run cli -- create-key --role admin',
        );
      }
      if (account.status === 'disabled') throw conflict(`account ${accountId} is disabled; a disabled account gets no keys`);
      if (selfService && (await countUsableKeys(tx, accountId)) >= SELF_SERVICE_KEYS) {
        throw conflict(`this account already holds ${SELF_SERVICE_KEYS} live keys; revoke one (DELETE /v1/me/keys/{keyId}) first`);
      }
      const key = await insertKey(tx, accountId, secret, limits);
      await audit.record(tx, {
        actor,
        action: 'key.create',
        subject: `account:${accountId}`,
        details: { keyId: key.id, scopes: key.scopes, expiresAt: key.expiresAt },
      });
      return { id: key.id, accountId, apiKey: secret, scopes: key.scopes, expiresAt: key.expiresAt, createdAt: key.createdAt };
    });
  }

  async function revokeKey(actor: Actor, keyId: string) {
    const result = await db.transaction(async (tx) => {
      const key = await lockKey(tx, keyId);
      if (!key) throw notFound(`key ${keyId} does not exist`);
      if (key.revokedAt) return { id: key.id, revokedAt: key.revokedAt };
      const revoked = await markRevoked(tx, keyId);
      await audit.record(tx, { actor, action: 'key.revoke', subject: `account:${key.accountId}`, details: { keyId } });
      return revoked;
    });
    // After the commit, so a lookup racing the revocation cannot remember the key again.
    forget(keyId);
    return result;
  }

  /** One account as listed (after a change to it). */
  async function view(accountId: string) {
    const [account] = await listAccounts(db, { id: accountId, limit: 1 });
    return account;
  }

  return {
    /**
     * On every request (a named prepared statement). An expired key is returned; the caller
     * refuses it saying so.
     */
    authenticate: (secret: string) => lookUp(hashSecret(secret)),

    /** Whether this process has seen the key live (the failed-authentication throttle lets such keys through). */
    remembers: (secret: string) => remembered.has(hashSecret(secret)),

    /**
     * A key this process has seen live, without a round trip; unknown keys are looked up.
     * Whatever the caller does with the principal must itself check that the key is still
     * live (store_submission does, in the same statement as the write; refusals call isLive),
     * so a key revoked on another replica stops working at once.
     */
    async authenticateRemembered(secret: string): Promise<Principal | null> {
      const secretHash = hashSecret(secret);
      return remembered.get(secretHash) ?? lookUp(secretHash);
    },

    /** Whether the key is still live (not revoked, not expired); forgets a remembered key that is not. */
    async isLive(who: Principal): Promise<boolean> {
      const live = await keyIsLive(db, who.keyId);
      if (!live) forget(who.keyId);
      return live;
    },

    /**
     * A new account and its first key. An admin account made by a person (over HTTP) is `pending`
     * until a different admin confirms it; the command line and BOOTSTRAP_ADMIN_KEY (no account
     * behind the actor) are the operator's root of trust, and what they make is active at once.
     */
    async createAccount(actor: Actor, input: { name: string; role: Role }) {
      const secret = newSecret();
      const status: AccountStatus = input.role === 'admin' && actor.accountId !== null ? 'pending' : 'active';
      return db.transaction(async (tx) => {
        const account = await insertAccount(tx, { ...input, status, createdBy: actor.accountId });
        const key = await insertKey(tx, account.id, secret);
        await audit.record(tx, {
          actor,
          action: 'account.create',
          subject: `account:${account.id}`,
          details: { name: account.name, role: account.role, status, keyId: key.id },
        });
        return { id: account.id, name: account.name, role: account.role, status, keyId: key.id, apiKey: secret };
      });
    },

    /** Accounts by name with their live keys: a role, a search (part of the name or the whole id), at most `limit`. */
    list: (filter: AccountFilter) => listAccounts(db, filter),

    /** A pending admin account becomes active when an admin other than the one who made it confirms it. */
    async confirm(who: Principal, accountId: string) {
      await db.transaction(async (tx) => {
        const account = await lockAccount(tx, accountId);
        if (!account) throw notFound(`account ${accountId} does not exist`);
        if (account.status !== 'pending') throw conflict(`account ${accountId} is ${account.status}; only a pending admin account can be confirmed`);
        if (account.createdBy === who.accountId) {
          throw forbidden(`you made account ${accountId}; four-eyes: a different admin must confirm it`);
        }
        await markConfirmed(tx, accountId, who.accountId);
        await audit.record(tx, { actor: who, action: 'account.confirm', subject: `account:${accountId}`, details: { name: account.name, createdBy: account.createdBy } });
      });
      return view(accountId);
    },

    /**
     * Disables an account and revokes every key it holds (they get 401 from then on); disabling
     * a disabled account changes nothing. An admin cannot disable itself, so at least one active
     * admin always remains.
     */
    async disable(who: Principal, accountId: string, reason?: string) {
      const revoked = await db.transaction(async (tx) => {
        const account = await lockAccount(tx, accountId);
        if (!account) throw notFound(`account ${accountId} does not exist`);
        if (account.id === who.accountId) throw forbidden('you cannot disable your own account; another admin can');
        if (account.status === 'disabled') return [];
        const keys = await markDisabled(tx, accountId);
        await audit.record(tx, {
          actor: who,
          action: 'account.disable',
          subject: `account:${accountId}`,
          reason: reason ?? null,
          details: { name: account.name, role: account.role, before: account.status, revokedKeys: keys },
        });
        return keys;
      });
      // After the commit, so a lookup racing the disabling cannot remember a key again.
      for (const keyId of revoked) forget(keyId);
      return view(accountId);
    },

    /** An admin issues a key for an account that is not another admin's. */
    createKey: (actor: Principal, accountId: string, limits: KeyLimits = {}) => createKeyFor(actor, accountId, limits, false),

    /** A caller issues a key for its own account (at most SELF_SERVICE_KEYS live at once). */
    createOwnKey: (who: Principal, limits: KeyLimits) => createKeyFor(who, who.accountId, limits, true),

    /** The caller's account's keys that are not revoked; secrets are never shown again, only their first characters. */
    listOwnKeys: (who: Principal) => listLiveKeys(db, who.accountId),

    /** Revokes one of the caller's own keys; another account's key is "not found", as if it did not exist. */
    async revokeOwnKey(who: Principal, keyId: string) {
      if (!(await accountHoldsKey(db, who.accountId, keyId))) throw notFound(`key ${keyId} is not one of your keys`);
      return revokeKey(who, keyId);
    },

    revokeKey,

    /**
     * Makes an admin key with exactly this secret exist; a key an admin revoked stays revoked.
     * Says whether the key works now (never the key itself), for the start-up log.
     */
    async ensureBootstrapAdmin(secret: string): Promise<{ keyId: string | null; state: 'active' | 'revoked' | 'expired' }> {
      await db.transaction(async (tx) => {
        await lockBootstrap(tx);
        if (await keyWithHashExists(tx, hashSecret(secret))) return;
        const account = await insertAccount(tx, { name: 'bootstrap-admin', role: 'admin', status: 'active', createdBy: null });
        const key = await insertKey(tx, account.id, secret);
        await audit.record(tx, {
          actor: BOOTSTRAP,
          action: 'account.bootstrap',
          subject: `account:${account.id}`,
          details: { keyId: key.id },
        });
      });
      const holder = await findKeyByHash(db, hashSecret(secret));
      if (!holder) return { keyId: null, state: 'revoked' };
      return { keyId: holder.keyId, state: isExpired(holder) ? 'expired' : 'active' };
    },
  };
}

export type AccountsService = ReturnType<typeof accountsService>;
