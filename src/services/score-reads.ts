import { latestRun } from '../db/runs.js';
import { currentScoresOfModel, erasWithScores, scoreHistory, scoresOnVersion, type ServedScoreRow } from '../db/scores.js';
import { latestTarget, targetOfVersion } from '../db/targets.js';
import { decodeFloat64 } from '../domain/packed.js';
import { numeraiCorr } from '../domain/scoring.js';
import { encodeCursor, MODEL_SCORES_MAX_ROWS } from '../domain/page-cursor.js';
import { notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import { transaction, type ScoringDeps } from './scoring-deps.js';

export type EraScore = ServedScoreRow;

/** One score of one model whose history across the target's versions is asked for. */
export interface ScoreFocus {
  era: number;
  target: string;
}

/** A page of an era's scores: at most `limit` rows after the row `after` names. */
export interface ModelPage {
  limit: number;
  after?: { late: boolean; model: string };
}

/** A page of a model's scores: at most `limit` eras before era `before`. */
export interface EraPage {
  limit: number;
  before?: number;
}

/**
 * Current submissions' scores on one target (the latest version unless one is named), a page at
 * a time (on-time first, then by model name), and the traded meta-model's own CORR on it.
 */
export async function eraScores(deps: Pick<ScoringDeps, 'db' | 'eras'>, number: number, name: string | undefined, version: number | undefined, page: ModelPage) {
  const era = await deps.eras.get(number);
  const target = name ?? era.mainTarget;
  return transaction(
    deps,
    async ({ tx }) => {
      const stored = version === undefined ? await latestTarget(tx, number, target) : await targetOfVersion(tx, number, target, version);
      if (!stored) throw notFound(version === undefined ? `era ${number} has no target "${target}"` : `era ${number} has no version ${version} of target "${target}"`);
      const runValue = (await latestRun(tx, number))?.value;
      // numerai_corr of the published value (NaN outside T) over the tradable ids with a target.
      const metaModelCorr = runValue ? numeraiCorr(decodeFloat64(runValue), decodeFloat64(stored.values)) : NaN;
      // One row more than asked says whether another page follows.
      const rows = await scoresOnVersion(tx, number, target, stored.version, { limit: page.limit + 1, after: page.after });
      const scores = rows.slice(0, page.limit);
      const last = scores[scores.length - 1];
      const next = rows.length > page.limit ? encodeCursor({ late: last.late, model: last.model }) : null;
      return { era: number, target, version: stored.version, metaModelCorr: Number.isNaN(metaModelCorr) ? null : metaModelCorr, scores, next };
    },
    { readOnlySnapshot: true },
  );
}

/**
 * The eras of a page of a model's scores: at most `limit`, and whole eras up to
 * MODEL_SCORES_MAX_ROWS score rows (at least one era); whether more follow.
 */
function pageOfEras(eras: readonly { era: number; rows: number }[], limit: number): { eras: number[]; more: boolean } {
  const taken: number[] = [];
  let rows = 0;
  for (const era of eras.slice(0, limit)) {
    if (taken.length > 0 && rows + era.rows > MODEL_SCORES_MAX_ROWS) break;
    taken.push(era.era);
    rows += era.rows;
  }
  return { eras: taken, more: eras.length > taken.length };
}

/**
 * One model's current scores across eras and targets, a page of eras at a time, newest era
 * first; owners and staff only. With an era and a target, also that score's history across the
 * target's versions.
 */
export async function modelScores(deps: Pick<ScoringDeps, 'db' | 'models'>, who: Principal, modelId: string, focus: ScoreFocus | undefined, page: EraPage) {
  const model = await deps.models.getReadable(modelId, who);
  return transaction(
    deps,
    async ({ tx }) => {
      const { eras, more } = pageOfEras(await erasWithScores(tx, modelId, { limit: page.limit + 1, before: page.before }), page.limit);
      const scores = eras.length === 0 ? [] : await currentScoresOfModel(tx, modelId, eras);
      const next = more ? encodeCursor({ era: eras[eras.length - 1] }) : null;
      if (!focus) return { modelId, model: model.name, scores, next };
      const history = await scoreHistory(tx, modelId, focus.era, focus.target);
      return { modelId, model: model.name, scores, next, era: focus.era, target: focus.target, history };
    },
    { readOnlySnapshot: true },
  );
}
