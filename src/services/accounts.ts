import { type AccountFilter, ACCOUNT_STATUSES, type AccountStatus, listAccounts, type Role, ROLES } from '../db/accounts.js';
import { type KeyHolder, type Scope, SCOPES } from '../db/keys.js';
import type { Actor } from './audit.js';
import type { AccountsContext, AccountsDeps } from './accounts/deps.js';
import { keyMemory } from './accounts/key-memory.js';
import { createKeyFor, listOwnKeys, revokeKey, revokeOwnKey } from './accounts/keys.js';
import { confirmAccount, createAccount, disableAccount, ensureBootstrapAdmin } from './accounts/manage.js';
import type { KeyLimits } from './accounts/secrets.js';

export type { AccountFilter, AccountStatus, Role, Scope };
export { ACCOUNT_STATUSES, ROLES, SCOPES };
export type { AccountsDeps } from './accounts/deps.js';
export { SELF_SERVICE_KEYS } from './accounts/keys.js';
export { hashSecret, isExpired, type KeyLimits } from './accounts/secrets.js';

/**
 * Who is calling: resolved from the bearer key on every request (revocation is immediate; see
 * authenticateRemembered). Expiry is checked by the caller, so it can say the key expired.
 */
export type Principal = KeyHolder;

/** What a request with an unknown or revoked key is told. */
export const REVOKED = 'The API key is unknown or has been revoked';

/** What a request with a pending admin account's key is told (403, on every route). */
export const PENDING =
  'This admin account awaits confirmation by another admin (POST /v1/accounts/{id}/confirm by an admin other than the one who made it); until then its keys may do nothing';

/** What a request with an expired key is told. */
export const expiredKey = (at: Date) =>
  `The API key expired on ${at.toISOString()}; it cannot make a new one. An admin can issue one for your account (POST /v1/accounts/{id}/keys), ` +
  'or another live key of your account with scope "all" can (POST /v1/me/keys)';

/**
 * Accounts and keys, one use case per function in services/accounts/: authentication and the
 * memory of live keys (key-memory.ts), accounts (manage.ts) and keys (keys.ts).
 */
export function accountsService(deps: AccountsDeps) {
  const memory = keyMemory(deps);
  const ctx: AccountsContext = { ...deps, memory };
  return {
    authenticate: memory.authenticate,
    remembers: memory.remembers,
    authenticateRemembered: memory.authenticateRemembered,
    isLive: memory.isLive,
    createAccount: (actor: Actor, input: { name: string; role: Role }) => createAccount(ctx, actor, input),
    /** Accounts by name with their live keys: a role, a search (part of the name or the whole id), at most `limit`. */
    list: (filter: AccountFilter) => listAccounts(deps.db, filter),
    confirm: (who: Principal, accountId: string) => confirmAccount(ctx, who, accountId),
    disable: (who: Principal, accountId: string, reason?: string) => disableAccount(ctx, who, accountId, reason),
    /** An admin issues a key for an account that is not another admin's. */
    createKey: (actor: Principal, accountId: string, limits: KeyLimits = {}) => createKeyFor(ctx, actor, accountId, limits, false),
    /** A caller issues a key for its own account (at most SELF_SERVICE_KEYS live at once). */
    createOwnKey: (who: Principal, limits: KeyLimits) => createKeyFor(ctx, who, who.accountId, limits, true),
    listOwnKeys: (who: Principal) => listOwnKeys(ctx, who),
    revokeOwnKey: (who: Principal, keyId: string) => revokeOwnKey(ctx, who, keyId),
    revokeKey: (actor: Actor, keyId: string) => revokeKey(ctx, actor, keyId),
    ensureBootstrapAdmin: (secret: string) => ensureBootstrapAdmin(ctx, secret),
  };
}

export type AccountsService = ReturnType<typeof accountsService>;
