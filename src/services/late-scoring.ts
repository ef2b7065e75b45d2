import { lockEra } from '../db/eras.js';
import type { EraRow } from './eras.js';
import { rescoreTargets } from './scoring-pass.js';
import { transaction, type ScoringDeps, type Tx } from './scoring-deps.js';
import { assertScorable } from './target-uploads.js';

/**
 * Scores one newly stored submission on the latest version of every stored target, if any:
 * a late submission arriving after a target upload, also after resolution (then for its
 * author's diagnostics only: late submissions are never paid, and resolution recorded the
 * era's results already). The era row lock (as an upload takes it) makes an upload in
 * flight either score the submission itself or commit before this reads the targets.
 */
export function scoreSubmission(deps: Pick<ScoringDeps, 'db'>, number: number, submissionId: string): Promise<string[]> {
  return transaction(deps, async (t) => {
    const era = await lockEra(t.tx, number, 'no key update');
    if (!era?.closedAt) return [];
    return rescoreTargets(t, era, submissionId);
  });
}

/**
 * Re-scores the latest version of every stored target of an era against its latest run,
 * inside the caller's transaction (a recompute's), which holds the era row FOR NO KEY
 * UPDATE or stronger. Earlier versions keep the scores they were given.
 */
export function rescoreEra(t: Tx, era: EraRow): Promise<string[]> {
  assertScorable(era);
  return rescoreTargets(t, era);
}
