import { isDetached } from '../db/archive.js';
import type { Database } from '../db/client.js';
import * as submissionsDal from '../db/submissions.js';
import type { StoredSubmission } from '../db/submissions.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { nearDuplicates, type SubmissionRanks } from '../domain/duplicates.js';
import { conflict, unauthorized } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import type { Preparer } from '../ingest/worker-preparer.js';
import { type Principal, REVOKED } from './accounts.js';
import type { ErasService } from './eras.js';
import type { ModelsService } from './models.js';

export type SubmissionReceipt = StoredSubmission;

const MAX_ATTEMPTS = 3;

/** Scores a stored submission on the era's uploaded targets, if any (the scoring service's scoreSubmission). */
export type ScoreSubmission = (era: number, submissionId: string) => Promise<unknown>;

/** Submissions read per round trip by the summary. */
const RANKS_PAGE = 500;

/** What the submissions service is made from: one database handle. */
export interface SubmissionsDeps {
  db: Database;
  eras: Pick<ErasService, 'get' | 'current' | 'forIngest' | 'universeIndex'>;
  models: Pick<ModelsService, 'assertOwns'>;
  preparer: Pick<Preparer, 'prepare'>;
  scoreSubmission: ScoreSubmission;
}

export function submissionsService(deps: SubmissionsDeps) {
  const { db, eras, models, preparer, scoreSubmission } = deps;

  return {
    /**
     * An era's submissions at a glance (operators): counts, the at-risk stake, the staked models
     * that have not submitted, and the groups of near-duplicate submissions across accounts
     * (domain/duplicates.ts: bucketed by digest, then random projections, so the cost stays near
     * linear in the number of models). Rank codes are read in pages of RANKS_PAGE; the codes are
     * kept (about 2 bytes per id and submission), never their floats.
     */
    async summary(number: number) {
      await eras.get(number);
      // An archived era's submissions are in its archive files: counting none here would call every model missing.
      if (await isDetached(db, number)) {
        throw conflict(`era ${number} is archived: its submissions left the database for the archive files (npm run cli -- archive, docs/operations.md); its scores, bundle and report still read`);
      }
      const counts = await submissionsDal.eraSubmissionCounts(db, number);
      const missing = await submissionsDal.stakedWithoutSubmission(db, number);
      const names: string[] = [];
      const ranks: SubmissionRanks[] = [];
      for (let after: string | null = null; ; ) {
        const page = await submissionsDal.currentRanksPage(db, number, after, RANKS_PAGE);
        for (const row of page) {
          names.push(row.name);
          ranks.push({ account: row.accountId, codes: decodeRankCodes(row.ranks), covered: row.covered, digest: row.digest });
        }
        if (page.length < RANKS_PAGE) break;
        after = page[page.length - 1].id;
      }
      const { groups, complete } = nearDuplicates(ranks);
      return {
        era: number,
        ...counts,
        duplicates: groups.map((g) => ({ models: [...new Set(g.members.map((i) => names[i]))].sort(), spearman: g.spearman })),
        duplicatesComplete: complete,
        missing,
      };
    },

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
        let stored: Awaited<ReturnType<typeof submissionsDal.storeSubmission>>;
        try {
          // The ingest write: store_submission checks the caller's key is live and writes under the era's KEY SHARE lock.
          stored = await submissionsDal.storeSubmission(db, who.keyId, era.number, universe.digest, { modelId, ...prepared });
        } catch (error) {
          // A concurrent submission of the same model won the race, or the era copy was stale: retry.
          const retry = submissionsDal.isConcurrentSubmission(error) || submissionsDal.isUniverseChanged(error);
          if (attempt < MAX_ATTEMPTS && retry) continue;
          if (submissionsDal.isKeyRevoked(error)) throw unauthorized(REVOKED);
          if (submissionsDal.isUniverseChanged(error)) throw conflict(`era ${era.number}'s universe changed while this submission was checked; submit again`);
          throw error;
        }
        // Targets need a closed era, so only a late submission can find one to score on (on-time ingest skips
        // this); an identical re-send scores again, in case scoring failed the first time.
        if (stored.submission.late) await scoreSubmission(stored.submission.era, stored.submission.id);
        return stored;
      }
    },

    async list(modelId: string) {
      return submissionsDal.listSubmissions(db, modelId);
    },
  };
}

export type SubmissionsService = ReturnType<typeof submissionsService>;
