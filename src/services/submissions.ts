import { createHash } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { submissions } from '../db/schema.js';
import { encodeFloat64 } from '../domain/packed.js';
import { encodeRankCodes, rankCodes } from '../domain/prepared.js';
import { conflict } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import { parseSubmission } from '../ingest/submission.js';
import type { Principal } from './accounts.js';
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

export function submissionsService(db: Database, eras: ErasService, models: ModelsService) {
  const receipt = (row: typeof submissions.$inferSelect): SubmissionReceipt => ({
    id: row.id,
    era: row.eraNumber,
    modelId: row.modelId,
    rows: row.rows,
    sha256: row.sha256,
    late: row.late,
    createdAt: row.createdAt,
  });

  return {
    /**
     * Validates, prepares (rank codes, computed once here) and stores a submission.
     * `created` is false when the same content was already the model's current submission.
     */
    async submit(who: Principal, modelId: string, eraNumber: number | undefined, body: IngestBody) {
      const model = await models.get(modelId);
      models.assertOwner(model, who);
      const era = eraNumber === undefined ? await eras.current() : await eras.get(eraNumber);
      if (new Date() < era.opensAt) throw conflict(`era ${era.number} opens at ${era.opensAt.toISOString()}; it is not open yet`);
      if (!era.universeDigest) throw conflict(`era ${era.number} has no universe yet; submissions open once the operator sets it`);
      const universe = await eras.universeIndex(era);
      const parsed = parseSubmission(body, universe, { era: era.number, minCoverage: era.minCoverage });
      const sha256 = createHash('sha256').update(parsed.canonical).digest('hex');
      const { codes, covered } = rankCodes(parsed.aligned);
      const values = { raw: encodeFloat64(parsed.aligned), ranks: encodeRankCodes(codes) };

      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction(async (tx) => {
            // KEY SHARE: many submissions at once, but never across a universe change or a close (FOR UPDATE).
            const { rows } = await tx.execute<{ late: boolean; universe_digest: string }>(sql`
              select (closed_at is not null or now() >= closes_at) as late, universe_digest
              from eras where number = ${era.number} for key share`);
            if (rows[0].universe_digest !== universe.digest) throw conflict(`era ${era.number}'s universe changed while this submission was checked; submit again`);
            const late = rows[0].late;
            const [current] = await tx
              .select()
              .from(submissions)
              .where(and(eq(submissions.eraNumber, era.number), eq(submissions.modelId, modelId), eq(submissions.late, late), eq(submissions.superseded, false)));
            if (current?.sha256 === sha256) return { submission: receipt(current), created: false };
            if (current) await tx.update(submissions).set({ superseded: true }).where(eq(submissions.id, current.id));
            const [inserted] = await tx
              .insert(submissions)
              .values({ eraNumber: era.number, modelId, sha256, rows: parsed.rows, covered, late, ...values })
              .returning();
            return { submission: receipt(inserted), created: true };
          });
        } catch (error) {
          // A concurrent submission of the same model won the race: retry against it.
          if (attempt < MAX_ATTEMPTS && isUniqueViolation(error, 'submissions_current_key')) continue;
          throw error;
        }
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
