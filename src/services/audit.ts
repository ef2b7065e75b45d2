import type { Database, Executor } from '../db/client.js';
import { type AuditQuery, insertAuditEntry, listAuditEntries, nextAuditLink } from '../db/audit.js';
import { AUDIT_DIGEST_VERSION, type AuditContent, auditEntryDigest, chainDigest, GENESIS } from '../domain/chain.js';

/**
 * Who acted: an account through one of its keys (a Principal is one), or the service on its own
 * (no account, no key) under a name that says which part of it.
 */
export interface Actor {
  accountId: string | null;
  name: string;
  keyId: string | null;
}

/** `npm run cli -- create-key`: the operator's root of trust. */
export const COMMAND_LINE: Actor = { accountId: null, name: 'command line', keyId: null };
/** The scheduler closing an era at its closesAt. */
export const SCHEDULER: Actor = { accountId: null, name: 'scheduler', keyId: null };
/** The service making the admin key named by BOOTSTRAP_ADMIN_KEY at start. */
export const BOOTSTRAP: Actor = { accountId: null, name: 'BOOTSTRAP_ADMIN_KEY', keyId: null };

/** What a caller records: who acted, and what the log does not assign itself (id, at). */
export type AuditEntry = { actor: Actor } & Pick<AuditContent, 'action' | 'subject'> & Partial<Pick<AuditContent, 'reason' | 'details'>>;

export type { AuditQuery };

export function auditService(db: Database) {
  return {
    /**
     * Write within the caller's transaction so the change and its record commit together. The
     * entry is chained to the previous one under a lock held until that transaction ends, so
     * callers record last, once their other locks are taken.
     */
    async record(tx: Executor, entry: AuditEntry): Promise<void> {
      const { id, at, previous } = await nextAuditLink(tx);
      const content: AuditContent = {
        id,
        at,
        actorId: entry.actor.accountId,
        actorName: entry.actor.name,
        keyId: entry.actor.keyId,
        action: entry.action,
        subject: entry.subject,
        reason: entry.reason ?? null,
        // As jsonb will hand it back: what JSON keeps of it (dates as text, no undefined).
        details: entry.details === undefined ? null : (JSON.parse(JSON.stringify(entry.details)) as unknown),
        digestVersion: AUDIT_DIGEST_VERSION,
      };
      const digest = auditEntryDigest(content);
      const { at: _at, ...row } = content;
      await insertAuditEntry(tx, { ...row, digest, chainDigest: chainDigest(previous ?? GENESIS, digest) });
    },

    async list(query: AuditQuery) {
      // One more than the page, to learn whether another page follows.
      const rows = await listAuditEntries(db, { ...query, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      return { entries: page, nextCursor: rows.length > query.limit ? page[page.length - 1].id : null };
    },
  };
}

export type AuditService = ReturnType<typeof auditService>;
