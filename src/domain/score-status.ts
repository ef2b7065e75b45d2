import type { Score } from './scoring.js';

/**
 * One status per score row: 'ok'; the shared reason when neither score exists
 * ('insufficient_overlap', 'degenerate', 'empty'); else which one is missing and why
 * ('mmc_empty', 'mmc_degenerate', 'corr_degenerate').
 */
export function scoreStatus(corr: Score, mmc: Score): string {
  if (corr.status === 'ok') return mmc.status === 'ok' ? 'ok' : `mmc_${mmc.status}`;
  return mmc.status === 'ok' ? `corr_${corr.status}` : corr.status;
}
