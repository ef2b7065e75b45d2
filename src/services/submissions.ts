import { desc, eq } from 'drizzle-orm';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { submissions } from '../db/schema.js';
import { conflict, unauthorized } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import type { PreparedSubmission } from '../ingest/prepare.js';
import type { Preparer } from '../ingest/worker-preparer.js';
import { type Principal, REVOKED } from './accounts.js';
import type { ErasService } from './eras.js';
import type { ModelsService } from './models.js';

export interface SubmissionReceipt {
  id: string;
  era: number;
  modelId: string;
  rows: number;
  sha256: string;
  late: boolean;
  createdAt: Date;
}

const MAX_ATTEMPTS = 3;
/** SQLSTATE store_submission raises when the era's universe is not the one the body was checked against. */
const UNIVERSE_CHANGED = 'SWU01';
/** SQLSTATE store_submission raises when the caller's key is revoked. */
const KEY_REVOKED = 'SWK01';

/** Scores a stored submission on the era's uploaded targets, if any (the scoring service's scoreSubmission). */
export type ScoreSubmission = (era: number, submissionId: string) => Promise<unknown>;

export function submissionsService(deps: {
  db: Database;
  pool: pg.Pool;
  eras: ErasService;
  models: ModelsService;
  preparer: Preparer;
  scoreSubmission: ScoreSubmission;
}) {
  const { db, pool, eras, models, preparer, scoreSubmission } = deps;
  /**
   * The ingest write: one round trip to store_submission (migrations/0003), which checks the
   * caller's key is live and writes under the era's KEY SHARE lock.
   */
  async function store(
    keyId: string,
    era: number,
    digest: string,
    row: { modelId: string } & PreparedSubmission,
  ) {
    const { rows } = await pool.query<SubmissionReceipt & { created: boolean }>({
      name: 'store-submission',
      text: `select r_id as id, r_era as era, r_model as "modelId", r_rows as rows, r_sha as sha256, r_late as late,
                    r_created_at as "createdAt", r_created as created
             from store_submission($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      values: [keyId, era, row.modelId, row.sha256, row.rows, row.covered, row.raw, row.rawEncoding, row.ranks, digest],
    });
    const { created, ...submission } = rows[0];
    return { submission, created };
  }

  return {
    /**
     * Validates, prepares (rank codes, computed once here) and stores a submission.
     * `created` is false when the same content was already the model's current submission.
     */
    async submit(who: Principal, modelId: string, eraNumber: number | undefined, body: IngestBody) {
      await models.assertOwns(who, modelId);
      for (let attempt = 1; ; attempt++) {
        const era = eraNumber === undefined ? await eras.current() : await eras.forIngest(eraNumber, attempt > 1);
        if (new Date() < era.opensAt) throw conflict(`era ${era.number} opens at ${era.opensAt.toISOString()}; it is not open yet`);
        if (!era.universeDigest) throw conflict(`era ${era.number} has no universe yet; submissions open once the operator sets it`);
        const universe = await eras.universeIndex(era);
        const prepared = await preparer.prepare(body, universe, { era: era.number, minCoverage: era.minCoverage });
        let stored: Awaited<ReturnType<typeof store>>;
        try {
          stored = await store(who.keyId, era.number, universe.digest, { modelId, ...prepared });
        } catch (error) {
          // A concurrent submission of the same model won the race, or the era copy was stale: retry.
          const code = (error as { code?: string }).code;
          const retry = isUniqueViolation(error, 'submissions_current_key') || code === UNIVERSE_CHANGED;
          if (attempt < MAX_ATTEMPTS && retry) continue;
          if (code === KEY_REVOKED) throw unauthorized(REVOKED);
          if (code === UNIVERSE_CHANGED) throw conflict(`era ${era.number}'s universe changed while this submission was checked; submit again`);
          throw error;
        }
        // Targets need a closed era, so only a late submission can find one to score on (on-time ingest skips
        // this); an identical re-send scores again, in case scoring failed the first time.
        if (stored.submission.late) await scoreSubmission(stored.submission.era, stored.submission.id);
        return stored;
      }
    },

    async list(modelId: string) {
      const rows = await db
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
      return rows;
    },
  };
}

export type SubmissionsService = ReturnType<typeof submissionsService>;
