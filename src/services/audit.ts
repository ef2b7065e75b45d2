import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.js';
import { auditLog } from '../db/schema.js';
import { insertAuditEntry, nextAuditLink } from '../db/audit.js';
import { auditEntryDigest, chainDigest, GENESIS } from '../domain/chain.js';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  subject: string;
  reason?: string | null;
  details?: unknown;
}

export interface AuditQuery {
  subject?: string;
  from?: Date;
  to?: Date;
  /** Entries with an id below this one (the previous page's `nextCursor`). */
  before?: number;
  limit: number;
}

export function auditService(db: Database) {
  return {
    /**
     * Write within the caller's transaction so the change and its record commit together. The
     * entry is chained to the previous one under a lock held until that transaction ends, so
     * callers record last, once their other locks are taken.
     */
    async record(tx: Executor, entry: AuditEntry): Promise<void> {
      const { id, at, previous } = await nextAuditLink(tx);
      const content = {
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
      const conditions: SQL[] = [];
      if (query.subject) conditions.push(eq(auditLog.subject, query.subject));
      if (query.from) conditions.push(gte(auditLog.at, query.from));
      if (query.to) conditions.push(lte(auditLog.at, query.to));
      if (query.before) conditions.push(lt(auditLog.id, query.before));
      const rows = await db
        .select()
        .from(auditLog)
        .where(and(...conditions))
        .orderBy(desc(auditLog.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      return { entries: page, nextCursor: rows.length > query.limit ? page[page.length - 1].id : null };
    },
  };
}

export type AuditService = ReturnType<typeof auditService>;
