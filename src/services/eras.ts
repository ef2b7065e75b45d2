import { boundedCache } from '../cache.js';
import type { Executor } from '../db/client.js';
import * as erasDal from '../db/eras.js';
import type { EraRow } from '../db/eras.js';
import * as universesDal from '../db/universes.js';
import type { UniverseRow } from '../domain/universe.js';
import { conflict, notFound } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import type { Actor } from './audit.js';
import { type ErasDeps, type NewEra, createEra, replaceUniverse } from './eras/write.js';

export type { EraRow };
export type { ErasDeps, NewEra } from './eras/write.js';
export { presentEra, universeDigest } from './eras/present.js';

/** The universe as the ingest and close steps use it: ids in position order and an id → position index. */
export interface UniverseIndex {
  digest: string;
  ids: string[];
  index: Map<string, number>;
}

/** Eras and their universes: reads (with the ingest and universe caches) here, writes in eras/write.ts. */
export function erasService(deps: ErasDeps) {
  const { db } = deps;
  const universeCache = boundedCache<string, UniverseIndex>({
    max: 16,
    staleness: 'universes are immutable once identified by their digest, so a cached one is never stale',
  });

  async function get(number: number, executor: Executor = db): Promise<EraRow> {
    const era = await erasDal.findEra(executor, number);
    if (!era) throw notFound(`era ${number} does not exist`);
    return era;
  }

  // Ingest reads the era on every submission; eras without a universe are not kept.
  const ingestCache = boundedCache<number, EraRow>({
    max: 64,
    ttlMs: 1_000,
    staleness: 'store_submission re-checks lateness and the universe digest under the era lock; a mismatch retries with a fresh read',
  });

  return {
    get,

    async forIngest(number: number, fresh = false): Promise<EraRow> {
      const hit = fresh ? undefined : ingestCache.get(number);
      if (hit) return hit;
      const era = await get(number);
      if (era.universeDigest) ingestCache.set(number, era);
      else ingestCache.delete(number);
      return era;
    },

    async list(): Promise<EraRow[]> {
      return erasDal.listEras(db);
    },

    /** The era whose window contains now; the latest such when several overlap. */
    async current(): Promise<EraRow> {
      const era = await erasDal.currentEra(db);
      if (!era) throw notFound('no era is open now; name one with ?era=N');
      return era;
    },

    create: (actor: Actor, input: NewEra): Promise<EraRow> => createEra(deps, actor, input),

    /** Replaces the universe from the request body (parsed here, by the ingest layer); fixed once a submission arrived. */
    replaceUniverse: (actor: Actor, number: number, body: IngestBody) => replaceUniverse(deps, actor, number, body),

    /** Ids in position order with their index; cached by digest. */
    async universeIndex(era: EraRow, executor: Executor = db): Promise<UniverseIndex> {
      if (!era.universeDigest) throw conflict(`era ${era.number} has no universe yet`);
      const cached = universeCache.get(era.universeDigest);
      if (cached) return cached;
      const ids = await universesDal.universeIds(executor, era.number);
      const universe = { digest: era.universeDigest, ids, index: new Map(ids.map((id, i) => [id, i])) };
      universeCache.set(era.universeDigest, universe);
      return universe;
    },

    /** Full rows with private attributes, for the policy step and operators. */
    async universeRows(number: number, executor: Executor = db): Promise<UniverseRow[]> {
      return universesDal.universeRowsOf(executor, number);
    },
  };
}

export type ErasService = ReturnType<typeof erasService>;
