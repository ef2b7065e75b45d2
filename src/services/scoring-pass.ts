import {
  closeSubmissionsToScore,
  deleteSupersededScores,
  extendScoreOrder,
  fetchSubmissionsToScore,
  lockScoreOrder,
  openSubmissionsToScore,
  writeScoreSet,
  type ScoreSet,
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

/** Submissions fetched and scored per round trip: the rank codes in memory are bounded whatever the number of models. */
const SCORE_BATCH = 500;

/** One version of a target, as scoring takes it. */
export interface TargetToScore {
  name: string;
  version: number;
  values: Float64Array;
}

/** The era's score order as a pass extends it: each submission's position, and those it adds. */
class ScoreOrder {
  readonly #positions = new Map<string, number>();
  readonly added: { ids: string[]; models: string[]; lates: boolean[] } = { ids: [], models: [], lates: [] };

  constructor(ids: readonly string[]) {
    ids.forEach((id, k) => this.#positions.set(id, k));
  }

  get length(): number {
    return this.#positions.size;
  }

  positionOf(submission: SubmissionToScore): number {
    let k = this.#positions.get(submission.id);
    if (k === undefined) {
      this.#positions.set(submission.id, (k = this.#positions.size));
      this.added.ids.push(submission.id);
      this.added.models.push(submission.model_id);
      this.added.lates.push(submission.late);
    }
    return k;
  }
}

/** What a pass scored on one target version, by position in the order. */
interface ScoredSet {
  positions: number[];
  statuses: string[];
  corrs: (number | null)[];
  mmcs: (number | null)[];
  stakes: (string | null)[];
  factors: (string | null)[];
}

/** How each batch of submissions is scored, and what the pass has scored so far. */
interface Pass {
  era: EraRow;
  set: readonly TargetToScore[];
  scorer: TargetSetScorer;
  paying: boolean[];
  totalAtRisk: number;
  order: ScoreOrder;
  scored: ScoredSet[];
}

function scoreBatch(pass: Pass, batch: readonly SubmissionToScore[]): void {
  const { era, scorer, paying, totalAtRisk, order, scored } = pass;
  const params = payoutParams(era);
  for (const submission of batch) {
    const k = order.positionOf(submission);
    scorer.score(decodeRankCodes(submission.ranks)).forEach(({ corr, mmc }, j) => {
      const paid = paying[j] && !submission.late && submission.stake !== null;
      const out = scored[j];
      out.positions.push(k);
      out.statuses.push(scoreStatus(corr, mmc));
      out.corrs.push(corr.value);
      out.mmcs.push(mmc.value);
      out.stakes.push(paid ? submission.stake : null);
      // The shortest round-trip text of the float factor, so the numeric product starts from its exact value.
      out.factors.push(paid ? String(payoutFactor(corr.value, mmc.value, params, totalAtRisk)) : null);
    });
  }
}

/** A scored set spread over every position of the order: null where this pass scored nothing. */
function packed(target: TargetToScore, scored: ScoredSet, length: number): ScoreSet {
  const set: ScoreSet = {
    target: target.name,
    version: target.version,
    statuses: new Array<string | null>(length).fill(null),
    corrs: new Array<number | null>(length).fill(null),
    mmcs: new Array<number | null>(length).fill(null),
    stakes: new Array<string | null>(length).fill(null),
    factors: new Array<string | null>(length).fill(null),
  };
  scored.positions.forEach((k, i) => {
    set.statuses[k] = scored.statuses[i];
    set.corrs[k] = scored.corrs[i];
    set.mmcs[k] = scored.mmcs[i];
    set.stakes[k] = scored.stakes[i];
    set.factors[k] = scored.factors[i];
  });
  return set;
}

/**
 * Scores every current submission of the era (on-time and late), or only submission `only`,
 * on every given target version in ONE pass: each submission's rank codes are read and
 * decoded once and scored on all of them; the next batch is fetched while this one is scored.
 * On the main target, the closing run's inputs also get their at-risk stake and payout; a
 * model with no score pays 0. Each version's scores are then written as one packed set.
 */
export async function scoreTargets(t: Tx, era: EraRow, set: readonly TargetToScore[], run: ScoringRuns, options: { only?: string } = {}): Promise<number> {
  const { only } = options;
  if (set.length === 0) return 0;
  const pass: Pass = {
    era,
    set,
    scorer: new TargetSetScorer(
      set.map((target) => target.values),
      decodeFloat64(run.value),
    ),
    paying: set.map((target) => target.name === era.mainTarget),
    totalAtRisk: Number(run.totalAtRisk),
    order: new ScoreOrder(await lockScoreOrder(t.tx, era.number)),
    scored: set.map(() => ({ positions: [], statuses: [], corrs: [], mmcs: [], stakes: [], factors: [] })),
  };
  await openSubmissionsToScore(t.client, era.number, run.closing, only);
  let scored = 0;
  let next: Promise<SubmissionToScore[]> | undefined = fetchSubmissionsToScore(t.client, SCORE_BATCH);
  while (next) {
    const batch: SubmissionToScore[] = await next;
    next = batch.length === SCORE_BATCH ? fetchSubmissionsToScore(t.client, SCORE_BATCH) : undefined;
    if (batch.length === 0) break;
    scoreBatch(pass, batch);
    scored += batch.length;
  }
  await closeSubmissionsToScore(t.client);
  await extendScoreOrder(t.tx, era.number, pass.order.added);
  for (const [j, target] of set.entries()) await writeScoreSet(t.tx, era.number, run.latest, packed(target, pass.scored[j], pass.order.length));
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
