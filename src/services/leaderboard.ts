import { boundedCache } from '../cache.js';
import { leaderboardWindow, rankedStanding, type StandingRow } from '../db/results.js';
import { badRequest } from '../errors.js';
import { transaction, type ScoringDeps } from './scoring-deps.js';

/** The leaderboard's window: the last W resolved eras. */
export const WINDOW = { min: 1, max: 260, default: 20 } as const;

type LeaderboardDeps = Pick<ScoringDeps, 'db' | 'defaultTarget'>;

/**
 * Ranked standings (every ranked model, in rank order) by target, window size, window bounds and
 * the resolved-era fingerprint, so a page is a slice, not a re-ranking of every model.
 *
 * Why an entry cannot be stale: a standing is a function of the results stored for the resolved
 * eras up to the window's last (its rows, and each model's latest row up to the era before it)
 * and of model names, which never change. Those rows are written only by recordResolvedEra,
 * in the transaction that marks an era resolved, and an era is resolved once (the resolver
 * holds its row lock and returns early once resolved_at is set; nothing clears it). So every
 * committed change to them comes with a new member of the resolved set, which changes its
 * count (and latest resolution time) in the fingerprint, read in the same statement as the
 * window bounds. A request that sees the new set misses the old
 * entries, on every replica alike; old entries just age out. A miss ranks in one repeatable
 * read snapshot that first re-reads the fingerprint: when a resolution committed since the
 * request read it, nothing is cached and the request starts over, so an entry always holds
 * the ranking of the state its key names.
 */
function standingsCache(deps: LeaderboardDeps) {
  return boundedCache<string, StandingRow[], { target: string; size: number; resolved: string }>({
    // Bounded by rows held: a standing of K models weighs K + 1.
    maxSize: { total: 200_000, sizeOf: (rows) => rows.length + 1 },
    staleness: 'cannot be stale: the key holds the resolved-era fingerprint, and a resolution (the only writer of the totals a standing ranks) changes it',
    // Concurrent misses on one key share one query.
    load: (_key, _stale, { context }) =>
      transaction(
        deps,
        async ({ tx }) => {
          const window = await leaderboardWindow(tx, context.size);
          if (window.resolved !== context.resolved) return undefined;
          return rankedStanding(tx, context.target, { last: window.eras[window.eras.length - 1], before: window.before });
        },
        { readOnlySnapshot: true },
      ),
  });
}

/** Reputation over the last `window` resolved eras (docs/scoring-and-payouts.md), from the results resolution stored. */
export function leaderboard(deps: LeaderboardDeps) {
  const standings = standingsCache(deps);

  /** The ranking of `target` over the last `size` resolved eras, as of one state of the resolved eras. */
  async function ranking(target: string, size: number) {
    // Each retry follows a resolution committed meanwhile; five in a row would mean resolutions never pause.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { eras: window, before, resolved } = await transaction(deps, ({ tx }) => leaderboardWindow(tx, size));
      if (window.length === 0) return { window, ranked: [] };
      const key = `${target}\u0000${window[window.length - 1]}\u0000${before ?? ''}\u0000${resolved}`;
      const ranked = await standings.fetch(key, { context: { target, size, resolved } });
      if (ranked) return { window, ranked };
    }
    throw new Error('the resolved eras kept changing while the leaderboard was ranked');
  }

  return async (query: { target?: string; window?: number; limit: number; offset: number }) => {
    const target = query.target ?? deps.defaultTarget;
    const size = query.window ?? WINDOW.default;
    if (!Number.isInteger(size) || size < WINDOW.min || size > WINDOW.max) {
      throw badRequest(`window must be a whole number of resolved eras from ${WINDOW.min} to ${WINDOW.max} (default ${WINDOW.default})`);
    }
    const { window, ranked } = await ranking(target, size);
    const rows = ranked.slice(query.offset, query.offset + query.limit);
    // Ties are broken by name, so a rank is a position.
    return { target, window: size, eras: window, total: ranked.length, rows: rows.map((row, i) => ({ rank: query.offset + i + 1, ...row })) };
  };
}
