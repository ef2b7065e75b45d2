import { boundedCache } from '../../cache.js';
import type { Database } from '../../db/client.js';
import { findKeyByHash, keyIsLive, type KeyHolder } from '../../db/keys.js';
import { hashSecret, isExpired } from './secrets.js';

/** How many live keys a process remembers for the submission route (the least recently used goes first). */
const REMEMBERED_KEYS = 10_000;

/**
 * Authentication and this process's memory of live keys, by secret hash. Only routes whose write
 * checks the key take a principal from it (see authenticateRemembered); the failed-authentication
 * throttle asks it whether a key is one this process has seen live.
 */
export function keyMemory(deps: { db: Database }) {
  const remembered = boundedCache<string, KeyHolder>({
    max: REMEMBERED_KEYS,
    staleness:
      "account names and roles and a key's scopes never change, and the entry holds the key's expiry, which the auth hook checks; " +
      'only keys of active accounts are remembered, and disabling an account revokes its keys; ' +
      'a key revoked since (on any replica) is refused by the write that uses it (store_submission) and, before any ' +
      'other refusal, by refuseRevokedKeys, which forgets it',
  });

  /** Looks the key up; a live one is remembered, a refused one forgotten. */
  async function lookUp(secretHash: string): Promise<KeyHolder | null> {
    const principal = await findKeyByHash(deps.db, secretHash);
    if (principal && !isExpired(principal) && principal.status === 'active') remembered.set(secretHash, principal);
    else remembered.delete(secretHash);
    return principal;
  }

  /** Drops a key from this process's memory of live keys (a scan: the memory is keyed by secret hash). */
  function forget(keyId: string): void {
    const hashes = [...remembered.entries()].filter(([, principal]) => principal.keyId === keyId).map(([secretHash]) => secretHash);
    for (const secretHash of hashes) remembered.delete(secretHash);
  }

  return {
    forget,
    /** On every request (a named prepared statement). An expired key is returned; the caller refuses it saying so. */
    authenticate: (secret: string) => lookUp(hashSecret(secret)),
    /** Whether this process has seen the key live (the failed-authentication throttle lets such keys through). */
    remembers: (secret: string) => remembered.has(hashSecret(secret)),
    /**
     * A key this process has seen live, without a round trip; unknown keys are looked up.
     * Whatever the caller does with the principal must itself check that the key is still
     * live (store_submission does, in the same statement as the write; refusals call isLive),
     * so a key revoked on another replica stops working at once.
     */
    authenticateRemembered: async (secret: string): Promise<KeyHolder | null> => {
      const secretHash = hashSecret(secret);
      return remembered.get(secretHash) ?? lookUp(secretHash);
    },
    /** Whether the key is still live (not revoked, not expired); forgets a remembered key that is not. */
    isLive: async (who: KeyHolder): Promise<boolean> => {
      const live = await keyIsLive(deps.db, who.keyId);
      if (!live) forget(who.keyId);
      return live;
    },
  };
}

export type KeyMemory = ReturnType<typeof keyMemory>;
