import type { UniverseRow } from './universe.js';

/** Counts over a universe that the stored report and the policy preview both give, computed one way. */

/** count / n, 0 for an empty universe. */
export function shareOf(count: number, n: number): number {
  return n === 0 ? 0 : count / n;
}

/** Sector label per universe position; an empty sector counts as none (folded into 'other'). */
export function sectorLabels(universe: readonly Pick<UniverseRow, 'sector'>[]): (string | null)[] {
  return universe.map((row) => (row.sector === null || row.sector === '' ? null : row.sector));
}

/** Universe size, tradable ids, and the excluded and observed ids with their shares of the universe. */
export function universeCounts(universeSize: number, tradable: number, observed: number) {
  return {
    universeSize,
    tradable,
    excluded: { count: universeSize - tradable, share: shareOf(universeSize - tradable, universeSize) },
    observed: { count: observed, share: shareOf(observed, universeSize) },
  };
}
