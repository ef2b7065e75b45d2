import { insertAccount, listAccounts, lockAccount, lockBootstrap, markConfirmed, markDisabled, type AccountStatus, type Role } from '../../db/accounts.js';
import { findKeyByHash, keyWithHashExists, type KeyHolder } from '../../db/keys.js';
import { conflict, forbidden, notFound } from '../../errors.js';
import { BOOTSTRAP, type Actor } from '../audit.js';
import type { AccountsContext, AccountsDeps } from './deps.js';
import { hashSecret, insertKey, isExpired, newSecret } from './secrets.js';

/** One account as listed (after a change to it). */
async function view(deps: Pick<AccountsDeps, 'db'>, accountId: string) {
  const [account] = await listAccounts(deps.db, { id: accountId, limit: 1 });
  return account;
}

/**
 * A new account and its first key. An admin account made by a person (over HTTP) is `pending`
 * until a different admin confirms it; the command line and BOOTSTRAP_ADMIN_KEY (no account
 * behind the actor) are the operator's root of trust, and what they make is active at once.
 */
export async function createAccount(deps: Pick<AccountsDeps, 'db' | 'audit'>, actor: Actor, input: { name: string; role: Role }) {
  const secret = newSecret();
  const status: AccountStatus = input.role === 'admin' && actor.accountId !== null ? 'pending' : 'active';
  return deps.db.transaction(async (tx) => {
    const account = await insertAccount(tx, { ...input, status, createdBy: actor.accountId });
    const key = await insertKey(tx, account.id, secret);
    await deps.audit.record(tx, {
      actor,
      action: 'account.create',
      subject: `account:${account.id}`,
      details: { name: account.name, role: account.role, status, keyId: key.id },
    });
    return { id: account.id, name: account.name, role: account.role, status, keyId: key.id, apiKey: secret };
  });
}

/** A pending admin account becomes active when an admin other than the one who made it confirms it. */
export async function confirmAccount(deps: Pick<AccountsDeps, 'db' | 'audit'>, who: KeyHolder, accountId: string) {
  await deps.db.transaction(async (tx) => {
    const account = await lockAccount(tx, accountId);
    if (!account) throw notFound(`account ${accountId} does not exist`);
    if (account.status !== 'pending') throw conflict(`account ${accountId} is ${account.status}; only a pending admin account can be confirmed`);
    if (account.createdBy === who.accountId) throw forbidden(`you made account ${accountId}; four-eyes: a different admin must confirm it`);
    await markConfirmed(tx, accountId, who.accountId);
    await deps.audit.record(tx, { actor: who, action: 'account.confirm', subject: `account:${accountId}`, details: { name: account.name, createdBy: account.createdBy } });
  });
  return view(deps, accountId);
}

/**
 * Disables an account and revokes every key it holds (they get 401 from then on); disabling
 * a disabled account changes nothing. An admin cannot disable itself, so at least one active
 * admin always remains.
 */
export async function disableAccount(deps: Pick<AccountsContext, 'db' | 'audit' | 'memory'>, who: KeyHolder, accountId: string, reason?: string) {
  const revoked = await deps.db.transaction(async (tx) => {
    const account = await lockAccount(tx, accountId);
    if (!account) throw notFound(`account ${accountId} does not exist`);
    if (account.id === who.accountId) throw forbidden('you cannot disable your own account; another admin can');
    if (account.status === 'disabled') return [];
    const keys = await markDisabled(tx, accountId);
    await deps.audit.record(tx, {
      actor: who,
      action: 'account.disable',
      subject: `account:${accountId}`,
      reason: reason ?? null,
      details: { name: account.name, role: account.role, before: account.status, revokedKeys: keys },
    });
    return keys;
  });
  // After the commit, so a lookup racing the disabling cannot remember a key again.
  for (const keyId of revoked) deps.memory.forget(keyId);
  return view(deps, accountId);
}

/**
 * Makes an admin key with exactly this secret exist; a key an admin revoked stays revoked.
 * Says whether the key works now (never the key itself), for the start-up log.
 */
export async function ensureBootstrapAdmin(deps: AccountsDeps, secret: string): Promise<{ keyId: string | null; state: 'active' | 'revoked' | 'expired' }> {
  await deps.db.transaction(async (tx) => {
    await lockBootstrap(tx);
    if (await keyWithHashExists(tx, hashSecret(secret))) return;
    const account = await insertAccount(tx, { name: 'bootstrap-admin', role: 'admin', status: 'active', createdBy: null });
    const key = await insertKey(tx, account.id, secret);
    await deps.audit.record(tx, { actor: BOOTSTRAP, action: 'account.bootstrap', subject: `account:${account.id}`, details: { keyId: key.id } });
  });
  const holder = await findKeyByHash(deps.db, hashSecret(secret));
  if (!holder) return { keyId: null, state: 'revoked' };
  return { keyId: holder.keyId, state: isExpired(holder) ? 'expired' : 'active' };
}
