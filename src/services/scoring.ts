import type { Principal } from './accounts.js';
import type { Actor } from './audit.js';
import { leaderboard } from './leaderboard.js';
import { rescoreEra, scoreSubmission } from './late-scoring.js';
import { performance } from './performance.js';
import { resolve, resolveDryRun } from './resolution.js';
import { eraScores, modelScores, type EraPage, type ModelPage, type ScoreFocus } from './score-reads.js';
import type { ScoringDeps } from './scoring-deps.js';
import { targetUploads } from './target-uploads.js';

export { PAYOUT_SCALE } from '../db/scores.js';
export { scoreStatus } from '../domain/score-status.js';
export { WINDOW } from './leaderboard.js';
export type { EraScore } from './score-reads.js';
export type { ScoringDeps } from './scoring-deps.js';

/**
 * The scoring use cases behind one object for the routes: target uploads (scoring-pass.ts),
 * late scoring and rescoring (late-scoring.ts), resolution and its dry run (resolution.ts),
 * score reads (score-reads.ts), performance (performance.ts) and the leaderboard with its
 * cache (leaderboard.ts). Each takes the part of `deps` it needs.
 */
export function scoringService(deps: ScoringDeps) {
  return {
    ...targetUploads(deps),
    scoreSubmission: (era: number, submissionId: string) => scoreSubmission(deps, era, submissionId),
    rescoreEra,
    resolve: (actor: Actor, era: number) => resolve(deps, actor, era),
    resolveDryRun: (era: number) => resolveDryRun(deps, era),
    eraScores: (era: number, target: string | undefined, version: number | undefined, page: ModelPage) => eraScores(deps, era, target, version, page),
    modelScores: (who: Principal, modelId: string, focus: ScoreFocus | undefined, page: EraPage) => modelScores(deps, who, modelId, focus, page),
    performance: (who: Principal, modelId: string, target?: string) => performance(deps, who, modelId, target),
    leaderboard: leaderboard(deps),
  };
}

export type ScoringService = ReturnType<typeof scoringService>;
