import { createHash, randomBytes } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { insertKey as insertKeyRow, SCOPES, type KeyHolder, type Scope } from '../../db/keys.js';
import { badRequest } from '../../errors.js';

/** What a key may do and until when; a key without them may do all its role may, for ever. */
export interface KeyLimits {
  scopes?: Scope[];
  expiresAt?: Date;
}

const KEY_PREFIX = 'sw_';

/** The scopes as stored: 'all' alone when given, else the distinct ones in a fixed order. */
function normaliseScopes(scopes: readonly Scope[] | undefined): Scope[] {
  if (!scopes || scopes.includes('all')) return ['all'];
  return SCOPES.filter((s) => scopes.includes(s));
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Stores a key for the secret (its hash and first characters only); 400 when it would expire at once. */
export function insertKey(tx: Executor, accountId: string, secret: string, limits: KeyLimits = {}) {
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

export const isExpired = (who: Pick<KeyHolder, 'expiresAt'>, now = Date.now()) => who.expiresAt !== null && who.expiresAt.getTime() <= now;
