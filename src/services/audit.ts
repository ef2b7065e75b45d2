import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.js';
import { auditLog } from '../db/schema.js';

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
    /** Write within the caller's transaction so the change and its record commit together. */
    async record(tx: Executor, entry: AuditEntry): Promise<void> {
      await tx.insert(auditLog).values({
        actorId: entry.actorId,
        action: entry.action,
        subject: entry.subject,
        reason: entry.reason ?? null,
        details: entry.details ?? null,
      });
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
