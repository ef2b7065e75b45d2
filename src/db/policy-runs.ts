import { desc, eq, lt, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { metaModelRuns } from './schema.js';

/**
 * The reads of meta-model runs that policy previews make: an era's latest run (its unconstrained
 * meta-model) and the closest earlier era that has one (for turnover).
 */

/** The latest run of an era, or null when it has none. */
export async function latestRun(executor: Executor, eraNumber: number) {
  const [run] = await executor
    .select({ id: metaModelRuns.id, seq: metaModelRuns.seq, unconstrained: metaModelRuns.unconstrained })
    .from(metaModelRuns)
    .where(eq(metaModelRuns.eraNumber, eraNumber))
    .orderBy(desc(metaModelRuns.seq))
    .limit(1);
  return run ?? null;
}

/** The latest era before `eraNumber` that has a run, or null. */
export async function previousEraWithRun(executor: Executor, eraNumber: number): Promise<number | null> {
  const [row] = await executor
    .select({ era: sql<number | null>`max(${metaModelRuns.eraNumber})` })
    .from(metaModelRuns)
    .where(lt(metaModelRuns.eraNumber, eraNumber));
  return row?.era ?? null;
}
