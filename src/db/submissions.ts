import { desc, eq, sql, type SQL } from 'drizzle-orm';
import type { RawEncoding } from '../domain/raw.js';
import { poolOf, type Database, type Executor } from './client.js';
import { isUniqueViolation } from './errors.js';
import { submissions } from './schema.js';

/**
 * How submissions are read and written. This module alone calls store_submission, the
 * PL/pgSQL function that is the ingest write; its current definition is in
 * migrations/0021_era_partitions.sql (first written in 0002, the key check added in 0003, key
 * expiry in 0008, re-sends after close in 0013, every look-up within the era's partition in
 * 0021). submissions is partitioned by era (src/db/partitions.ts), its key (era_number, id): a
 * query that names the era reads one partition. These business rules live in that function, not
 * in TypeScript:
 * - the key: the caller's API key must be neither revoked nor expired (SQLSTATE SWK01), checked
 *   in the same round trip so revocation takes effect at once whatever the route remembered;
 * - the universe: under KEY SHARE on the era row (a close or a universe replacement takes FOR
 *   UPDATE), the era's universe digest must be the one the body was checked against (SWU01);
 * - lateness: a submission is late when the era is closed or now ≥ closesAt, decided there;
 * - identical re-sends: when the model's latest current submission of the era (its late one if
 *   any, else its on-time one) has the same SHA-256, it is returned as it is and nothing is
 *   written (created = false), also once the era has closed or resolved;
 * - superseding: otherwise the current one is marked superseded and the new one inserted. Two
 *   concurrent inserts for one model collide on the unique index submissions_current_key
 *   (era, model, late where not superseded); the loser retries.
 */

/** What a stored (or identically re-sent) submission looks like to its author. */
export interface StoredSubmission {
  id: string;
  era: number;
  modelId: string;
  rows: number;
  sha256: string;
  late: boolean;
  createdAt: Date;
}

/** A prepared submission as store_submission takes it (src/ingest/prepare.ts makes it). */
export interface SubmissionToStore {
  modelId: string;
  sha256: string;
  rows: number;
  covered: number;
  raw: Buffer;
  rawEncoding: RawEncoding;
  ranks: Buffer;
}

/** SQLSTATE store_submission raises when the era's universe is not the one the body was checked against. */
const UNIVERSE_CHANGED = 'SWU01';
/** SQLSTATE store_submission raises when the caller's key is revoked or expired. */
const KEY_REVOKED = 'SWK01';

const code = (error: unknown) => (error as { code?: string }).code;

/** The era's universe changed (or the era is gone) since the body was checked: check again. */
export const isUniverseChanged = (error: unknown) => code(error) === UNIVERSE_CHANGED;
/** The caller's key was revoked or expired. */
export const isKeyRevoked = (error: unknown) => code(error) === KEY_REVOKED;
/** A concurrent submission of the same model (same era and lateness) was stored first: try again. */
export const isConcurrentSubmission = (error: unknown) => isUniqueViolation(error, 'submissions_current_key');

/**
 * The ingest write: one round trip to store_submission. A named (server-side prepared)
 * statement on the database's pool rather than drizzle, since this runs once per submission on the hot path.
 * `created` is false when the same content was already the model's current submission.
 */
export async function storeSubmission(
  db: Database,
  keyId: string,
  era: number,
  digest: string,
  row: SubmissionToStore,
): Promise<{ submission: StoredSubmission; created: boolean }> {
  const { rows } = await poolOf(db).query<StoredSubmission & { created: boolean; emitted: number | null }>({
    name: 'store-submission',
    // A new submission's submission.received event (src/domain/events.ts) is written by the same statement.
    text: `select r_id as id, r_era as era, r_model as "modelId", r_rows as rows, r_sha as sha256, r_late as late,
                    r_created_at as "createdAt", r_created as created, e.emitted
             from store_submission($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) s
             left join lateral (
               select emit_events(array['submission.received'], array[s.r_model], array[jsonb_build_object(
                 'era', s.r_era, 'modelId', s.r_model, 'submissionId', s.r_id, 'sha256', s.r_sha, 'late', s.r_late)]) as emitted
               where s.r_created) e on true`,
    values: [keyId, era, row.modelId, row.sha256, row.rows, row.covered, row.raw, row.rawEncoding, row.ranks, digest],
  });
  const { created, emitted: _emitted, ...submission } = rows[0];
  return { submission, created };
}

/** A model's submissions, newest first. */
export async function listSubmissions(executor: Executor, modelId: string) {
  return executor
    .select({
      id: submissions.id,
      era: submissions.eraNumber,
      rows: submissions.rows,
      sha256: submissions.sha256,
      late: submissions.late,
      superseded: submissions.superseded,
      createdAt: submissions.createdAt,
    })
    .from(submissions)
    .where(eq(submissions.modelId, modelId))
    .orderBy(desc(submissions.createdAt));
}

/** Whether any submission (current or superseded) has arrived for the era. */
export async function hasSubmissions(executor: Executor, era: number): Promise<boolean> {
  const [first] = await executor.select({ id: submissions.id }).from(submissions).where(eq(submissions.eraNumber, era)).limit(1);
  return first !== undefined;
}

/** An era's submission counts: current on-time and late ones, the on-time ones with stake at the cutoff and that stake. */
export async function eraSubmissionCounts(executor: Executor, era: number) {
  const { rows } = await executor.execute<{ submitted: number; late: number; staked: number; atRisk: string }>(sql`
    select count(*) filter (where not s.late)::int as submitted,
           count(*) filter (where s.late)::int as late,
           count(*) filter (where not s.late and stake.amount > 0)::int as staked,
           coalesce(sum(stake.amount) filter (where not s.late and stake.amount > 0), 0)::text as "atRisk"
    from eras e
    join submissions s on s.era_number = e.number and not s.superseded
    left join lateral (${amountAtCutoff(sql`s.model_id`)}) stake on true
    where e.number = ${era}`);
  return rows[0];
}

/** Models with stake at the era's cutoff (now while it is open) and no current on-time submission in it, by name. */
export async function stakedWithoutSubmission(executor: Executor, era: number): Promise<string[]> {
  const { rows } = await executor.execute<{ name: string }>(sql`
    select m.name from eras e cross join models m
    cross join lateral (${amountAtCutoff(sql`m.id`)}) stake
    where e.number = ${era} and stake.amount > 0
      and not exists (select 1 from submissions s where s.era_number = e.number and s.model_id = m.id and not s.late and not s.superseded)
    order by m.name`);
  return rows.map((r) => r.name);
}

/** A model's amount at the cutoff of era row `e`: the earlier of closesAt and closedAt, or now before either. */
const amountAtCutoff = (model: SQL) => sql`
  select se.amount from stake_entries se
  where se.model_id = ${model} and se.at <= least(e.closes_at, coalesce(e.closed_at, e.closes_at), now())
  order by se.seq desc limit 1`;

/** One page of an era's current submissions (on time and late) with their rank codes, by id after `after`. */
export async function currentRanksPage(executor: Executor, era: number, after: string | null, limit: number) {
  const { rows } = await executor.execute<{ id: string; name: string; accountId: string; covered: number; ranks: Buffer; digest: string }>(sql`
    select s.id, m.name, m.account_id as "accountId", s.covered, s.ranks, md5(s.ranks) as digest
    from submissions s join models m on m.id = s.model_id
    where s.era_number = ${era} and not s.superseded ${after === null ? sql`` : sql`and s.id > ${after}`}
    order by s.id limit ${limit}`);
  return rows;
}
