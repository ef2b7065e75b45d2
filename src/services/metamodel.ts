import * as erasDal from '../db/eras.js';
import * as runsDal from '../db/runs.js';
import type { RunSummary } from '../db/runs.js';
import { decodeFloat64 } from '../domain/packed.js';
import { notFound } from '../errors.js';
import { type Actor, SCHEDULER } from './audit.js';
import type { EraRow } from './eras.js';
import { type CloseResult, closeEra, openEraMetaModel, recompute } from './metamodel/close.js';
import type { MetaModelDeps } from './metamodel/deps.js';

export type { CloseResult } from './metamodel/close.js';
export type { MetaModelDeps, RescoreEra } from './metamodel/deps.js';

/**
 * Closing eras, recomputing their meta-model and reading the runs. The writes live in
 * metamodel/close.ts (close, recompute, an open era's provisional M) and the run's computation
 * in metamodel/compute.ts; this composes them with the reads.
 */
export function metaModelService(deps: MetaModelDeps) {
  const { db, eras } = deps;

  async function closedEra(number: number): Promise<EraRow> {
    const era = await eras.get(number);
    if (!era.closedAt) throw notFound(`era ${number} is not closed yet; its meta-model exists once it closes`);
    return era;
  }

  return {
    openEraMetaModel: (number: number) => openEraMetaModel(deps, number),

    async closeEra(actor: Actor, number: number): Promise<CloseResult> {
      return (await closeEra(deps, actor, number, false))!;
    },

    /** For the scheduler: null when another replica holds the era's close lock right now. */
    async closeDueEra(number: number): Promise<CloseResult | null> {
      return closeEra(deps, SCHEDULER, number, true);
    },

    /** Eras past closesAt that nobody closed yet; eras without a universe cannot close and wait for one. */
    async dueEras(limit = 100): Promise<number[]> {
      return erasDal.dueEras(db, limit);
    },

    recompute: (actor: Actor, number: number): Promise<RunSummary> => recompute(deps, actor, number),

    async runs(number: number, options: { inputs: boolean }): Promise<{ era: number; runs: RunSummary[] }> {
      await eras.get(number);
      return { era: number, runs: await runsDal.runSummaries(db, { era: number }, options) };
    },

    /** The latest run of a closed era with one row per universe id, in universe order. */
    async latestRun(number: number) {
      const era = await closedEra(number);
      const [run] = await runsDal.runSummaries(db, { era: number }, { latestOnly: true });
      if (!run) throw notFound(`era ${number} has no meta-model run`);
      const vectors = await runsDal.runVectors(db, run.id);
      const universe = await eras.universeIndex(era);
      const unconstrained = decodeFloat64(vectors.unconstrained);
      const value = decodeFloat64(vectors.value);
      const rows = universe.ids.map((id, i) => ({
        id,
        // NaN marks an id outside T: excludedBy also lists side-limited rules, whose ids stay tradable.
        value: Number.isNaN(value[i]) ? null : value[i],
        unconstrained: unconstrained[i],
        excludedBy: vectors.excludedBy[String(i)] ?? [],
      }));
      return { era: number, run, rows };
    },
  };
}

export type MetaModelService = ReturnType<typeof metaModelService>;
