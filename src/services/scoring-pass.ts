import {
  closeSubmissionsToScore,
  deleteSupersededScores,
  emptyScoreColumns,
  fetchSubmissionsToScore,
  NewScoreRows,
  openSubmissionsToScore,
  writeScores,
  type ScoreColumns,
  type SubmissionToScore,
} from '../db/scores.js';
import { latestTargets } from '../db/targets.js';
import { scoringRuns, type ScoringRuns } from '../db/runs.js';
import type { Executor } from '../db/client.js';
import { payoutParams } from '../domain/era.js';
import { decodeFloat64 } from '../domain/packed.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { scoreStatus } from '../domain/score-status.js';
import { payoutFactor } from '../domain/scoring.js';
import { TargetSetScorer } from '../domain/target-set.js';
import type { EraRow } from './eras.js';
import type { Tx } from './scoring-deps.js';

/** Submissions fetched and scored per round trip: memory is bounded whatever the number of models. */
const SCORE_BATCH = 500;

/** One version of a target, as scoring takes it. */
export interface TargetToScore {
  name: string;
  version: number;
  values: Float64Array;
}

/** How one batch of submissions is turned into score rows. */
interface Pass {
  era: EraRow;
  set: readonly TargetToScore[];
  scorer: TargetSetScorer;
  paying: boolean[];
  totalAtRisk: number;
  run: ScoringRuns;
  fresh: boolean;
}

/** Scores one batch; returns the writes it started (the caller awaits them). */
function scoreBatch(t: Tx, pass: Pass, batch: readonly SubmissionToScore[]): Promise<unknown>[] {
  const { era, set, scorer, paying, totalAtRisk, run, fresh } = pass;
  const params = payoutParams(era);
  const rows: ScoreColumns = emptyScoreColumns();
  const newRows = fresh ? new NewScoreRows(era.number, run.latest) : undefined;
  for (const submission of batch) {
    const scores = scorer.score(decodeRankCodes(submission.ranks));
    scores.forEach(({ corr, mmc }, j) => {
      const paid = paying[j] && !submission.late && submission.stake !== null;
      if (newRows !== undefined && !paid) {
        newRows.add(submission.id, submission.model_id, set[j].name, set[j].version, scoreStatus(corr, mmc), corr.value, mmc.value);
        return;
      }
      rows.targets.push(set[j].name);
      rows.versions.push(set[j].version);
      rows.submissionIds.push(submission.id);
      rows.modelIds.push(submission.model_id);
      rows.statuses.push(scoreStatus(corr, mmc));
      rows.corrs.push(corr.value);
      rows.mmcs.push(mmc.value);
      rows.stakes.push(paid ? submission.stake : null);
      // The shortest round-trip text of the float factor, so the numeric product starts from its exact value.
      rows.factors.push(paid ? String(payoutFactor(corr.value, mmc.value, params, totalAtRisk)) : null);
    });
  }
  const writes: Promise<unknown>[] = [];
  if (newRows !== undefined && newRows.size > 0) writes.push(newRows.write(t.client));
  if (rows.targets.length > 0) writes.push(writeScores(t.tx, era.number, run.latest, rows));
  for (const write of writes) write.catch(() => {}); // awaited by the caller; a failure aborts the transaction and surfaces there
  return writes;
}

/**
 * Scores every current submission of the era (on-time and late), or only submission `only`,
 * on every given target version in ONE pass: each submission's rank codes are read and
 * decoded once and scored on all of them. Batches are pipelined: the next batch is fetched
 * and the last one written while this one is scored. On the main target, the closing run's
 * inputs also get their at-risk stake and payout; a model with no score pays 0.
 *
 * `fresh`: the versions were stored in this transaction, so none has a score row yet; rows
 * that pay nothing (all but the main target's on-time at-risk ones) are then copied in
 * rather than upserted, which is most of the work of a many-target upload.
 */
export async function scoreTargets(t: Tx, era: EraRow, set: readonly TargetToScore[], run: ScoringRuns, options: { only?: string; fresh?: boolean } = {}): Promise<number> {
  const { only, fresh = false } = options;
  if (set.length === 0) return 0;
  const pass: Pass = {
    era,
    set,
    run,
    fresh,
    scorer: new TargetSetScorer(
      set.map((target) => target.values),
      decodeFloat64(run.value),
    ),
    paying: set.map((target) => target.name === era.mainTarget),
    totalAtRisk: Number(run.totalAtRisk),
  };
  const writes: Promise<unknown>[] = [];
  await openSubmissionsToScore(t.client, era.number, run.closing, only);
  let scored = 0;
  try {
    let next: Promise<SubmissionToScore[]> | undefined = fetchSubmissionsToScore(t.client, SCORE_BATCH);
    while (next) {
      const batch: SubmissionToScore[] = await next;
      next = batch.length === SCORE_BATCH ? fetchSubmissionsToScore(t.client, SCORE_BATCH) : undefined;
      if (batch.length === 0) break;
      writes.push(...scoreBatch(t, pass, batch));
      scored += batch.length;
    }
    await Promise.all(writes);
  } catch (error) {
    // A failed write aborts the transaction, so later queries fail too: report the write's own error.
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw failed ? failed.reason : error;
  }
  await closeSubmissionsToScore(t.client);
  await deleteSupersededScores(t.tx, era.number, only);
  return scored;
}

/** The latest version of every stored target of the era, decoded, by name. */
export async function currentTargets(executor: Executor, number: number): Promise<TargetToScore[]> {
  const stored = await latestTargets(executor, number);
  return stored.map(({ name, version, values }) => ({ name, version, values: decodeFloat64(values) }));
}

/**
 * Scores against the latest run on the latest version of every stored target of the era:
 * every current submission, or only submission `only`. The caller holds the era row lock.
 */
export async function rescoreTargets(t: Tx, era: EraRow, only?: string): Promise<string[]> {
  const run = await scoringRuns(t.tx, era.number);
  if (!run) return [];
  const set = await currentTargets(t.tx, era.number);
  await scoreTargets(t, era, set, run, { only });
  return set.map((target) => target.name);
}
