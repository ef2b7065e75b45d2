import type { AuditContent } from '../domain/chain.js';
import { and, desc, eq, gte, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { accounts, auditLog } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/** Advisory lock class that serialises appends to the audit chain (held to the end of the transaction). */

/** The instant as UTC text to the microsecond: how an entry's `at` enters its digest. */
const atText = (column: ReturnType<typeof sql>) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Takes the chain's lock for the rest of the transaction, then the next entry's id, its `at`
 * (the transaction's now(), which the inserted row's default also takes) and the last chain digest.
 */
export async function nextAuditLink(executor: Executor): Promise<{ id: number; at: string; previous: string | null }> {
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.auditChain}, 0)`);
  const { rows } = await executor.execute<{ id: number; at: string; previous: string | null }>(sql`
    select nextval(pg_get_serial_sequence('audit_log', 'id')) as id, ${atText(sql`now()`)} as at,
           (select chain_digest from audit_log where chain_digest is not null order by id desc limit 1) as previous`);
  return rows[0];
}

export async function insertAuditEntry(executor: Executor, entry: typeof auditLog.$inferInsert & { id: number }): Promise<void> {
  await executor.insert(auditLog).values(entry);
}

/** An audit entry as stored: the content its digest covers, and its links. */
export type StoredAuditEntry = AuditContent & {
  digest: string | null;
  chainDigest: string | null;
};

/** Entries after `afterId` in id order (the chain's order), at most `limit`, with `at` as their digest covers it. */
export async function auditEntriesAfter(executor: Executor, afterId: number, limit: number): Promise<StoredAuditEntry[]> {
  const { rows } = await executor.execute<StoredAuditEntry>(sql`
    select id, ${atText(sql`at`)} as at, actor_id as "actorId", actor_name as "actorName", key_id as "keyId", action, subject, reason, details,
           digest_version as "digestVersion", digest, chain_digest as "chainDigest"
    from audit_log where id > ${afterId} order by id limit ${limit}`);
  return rows;
}

/** Which entries a page of the audit log holds: filters and the page's size and cursor. */
export interface AuditQuery {
  subject?: string;
  from?: Date;
  to?: Date;
  /** Entries with an id below this one (the previous page's `nextCursor`). */
  before?: number;
  limit: number;
}

/**
 * The matching entries, newest first, at most `query.limit`. An entry written before actor names
 * were recorded is given its account's name (names never change).
 */
export async function listAuditEntries(executor: Executor, query: AuditQuery) {
  const conditions: SQL[] = [];
  if (query.subject) conditions.push(eq(auditLog.subject, query.subject));
  if (query.from) conditions.push(gte(auditLog.at, query.from));
  if (query.to) conditions.push(lte(auditLog.at, query.to));
  if (query.before) conditions.push(lt(auditLog.id, query.before));
  return executor
    .select({
      id: auditLog.id,
      at: auditLog.at,
      actorId: auditLog.actorId,
      actorName: sql<string | null>`coalesce(${auditLog.actorName}, ${accounts.name})`,
      keyId: auditLog.keyId,
      action: auditLog.action,
      subject: auditLog.subject,
      reason: auditLog.reason,
      details: auditLog.details,
    })
    .from(auditLog)
    .leftJoin(accounts, eq(accounts.id, auditLog.actorId))
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(query.limit);
}

/**
 * The chain's length (entries that carry a chain digest; older ones predate the chain) and its
 * last chain digest, in one statement so both come from one snapshot.
 */
export async function auditChainHead(executor: Executor): Promise<{ count: number; chainDigest: string | null }> {
  const { rows } = await executor.execute<{ count: number; chainDigest: string | null }>(sql`
    select count(*)::int as count,
           (select chain_digest from audit_log where chain_digest is not null order by id desc limit 1) as "chainDigest"
    from audit_log where chain_digest is not null`);
  return rows[0];
}

/** The chain digest of the chain's `position`-th entry in id order (1 is the first chained entry), if it has one. */
export async function auditChainDigestAt(executor: Executor, position: number): Promise<string | undefined> {
  const { rows } = await executor.execute<{ chainDigest: string }>(sql`
    select chain_digest as "chainDigest" from audit_log where chain_digest is not null order by id offset ${position - 1} limit 1`);
  return rows[0]?.chainDigest;
}

/** The settlement total each era's resolution recorded in its audit entry (`details.totalPayout`), by era. */
export async function resolutionTotals(executor: Executor): Promise<Map<number, string>> {
  const { rows } = await executor.execute<{ subject: string; total: string | null }>(sql`
    select subject, details->>'totalPayout' as total from audit_log where action = 'era.resolve' and subject like 'era:%'`);
  const totals = new Map<number, string>();
  for (const { subject, total } of rows) if (total !== null) totals.set(Number(subject.slice('era:'.length)), total);
  return totals;
}
