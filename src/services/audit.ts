import type { Database, Executor } from '../db/client.js';
import { type AuditQuery, insertAuditEntry, listAuditEntries, nextAuditLink } from '../db/audit.js';
import { type AuditContent, auditEntryDigest, chainDigest, GENESIS } from '../domain/chain.js';

/** What a caller records: the content an entry's digest covers, less what the log assigns (id, at). */
export type AuditEntry = Pick<AuditContent, 'actorId' | 'action' | 'subject'> & Partial<Pick<AuditContent, 'reason' | 'details'>>;

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
        actorId: entry.actorId,
        action: entry.action,
        subject: entry.subject,
        reason: entry.reason ?? null,
        // As jsonb will hand it back: what JSON keeps of it (dates as text, no undefined).
        details: entry.details === undefined ? null : (JSON.parse(JSON.stringify(entry.details)) as unknown),
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
