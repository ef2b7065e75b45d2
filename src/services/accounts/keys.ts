import { lockAccount } from '../../db/accounts.js';
import { accountHoldsKey, countUsableKeys, listLiveKeys, lockKey, markRevoked, type KeyHolder } from '../../db/keys.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import type { Actor } from '../audit.js';
import type { AccountsContext, AccountsDeps } from './deps.js';
import { insertKey, newSecret, type KeyLimits } from './secrets.js';

/** Keys an account may hold at once when it creates them for itself (each key has its own rate limit). */
export const SELF_SERVICE_KEYS = 20;

/**
 * A key for `accountId`, made by `actor`. Nobody mints a key for another admin account: whoever
 * held it could act as that admin, and four-eyes would compare one person with itself.
 */
export async function createKeyFor(deps: Pick<AccountsDeps, 'db' | 'audit'>, actor: KeyHolder, accountId: string, limits: KeyLimits, selfService: boolean) {
  const secret = newSecret();
  return deps.db.transaction(async (tx) => {
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
    await deps.audit.record(tx, { actor, action: 'key.create', subject: `account:${accountId}`, details: { keyId: key.id, scopes: key.scopes, expiresAt: key.expiresAt } });
    return { id: key.id, accountId, apiKey: secret, scopes: key.scopes, expiresAt: key.expiresAt, createdAt: key.createdAt };
  });
}

/** Revokes a key (once; revoking it again returns the first revocation) and forgets it in this process. */
export async function revokeKey(deps: Pick<AccountsContext, 'db' | 'audit' | 'memory'>, actor: Actor, keyId: string) {
  const result = await deps.db.transaction(async (tx) => {
    const key = await lockKey(tx, keyId);
    if (!key) throw notFound(`key ${keyId} does not exist`);
    if (key.revokedAt) return { id: key.id, revokedAt: key.revokedAt };
    const revoked = await markRevoked(tx, keyId);
    await deps.audit.record(tx, { actor, action: 'key.revoke', subject: `account:${key.accountId}`, details: { keyId } });
    return revoked;
  });
  // After the commit, so a lookup racing the revocation cannot remember the key again.
  deps.memory.forget(keyId);
  return result;
}

/** Revokes one of the caller's own keys; another account's key is "not found", as if it did not exist. */
export async function revokeOwnKey(deps: Pick<AccountsContext, 'db' | 'audit' | 'memory'>, who: KeyHolder, keyId: string) {
  if (!(await accountHoldsKey(deps.db, who.accountId, keyId))) throw notFound(`key ${keyId} is not one of your keys`);
  return revokeKey(deps, who, keyId);
}

/** The caller's account's keys that are not revoked; secrets are never shown again, only their first characters. */
export const listOwnKeys = (deps: Pick<AccountsDeps, 'db'>, who: KeyHolder) => listLiveKeys(deps.db, who.accountId);
