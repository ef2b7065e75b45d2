import { desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { metaModelRuns } from './schema.js';

// Reads of meta_model_runs that scoring needs: the run whose value is traded (MMC and the
// meta-model's own CORR are taken against it) and the closing run, whose inputs hold the
// at-risk stakes. Kept apart from the runs module, which owns writing runs.

/** The runs an era's scores are taken against. */
export type ScoringRuns = {
  /** the latest run: its value vector is the traded signal MMC is taken against */
  latest: string;
  value: Buffer;
  /** the closing run: its inputs are the at-risk stakes */
  closing: string;
  totalAtRisk: string;
};

/** The latest run (the one traded) and the closing run (whose inputs hold the at-risk stakes), if the era has run. */
export async function scoringRuns(executor: Executor, era: number): Promise<ScoringRuns | undefined> {
  const { rows } = await executor.execute<ScoringRuns>(sql`
    select latest.id as latest, latest.value, closing.id as closing,
           (select coalesce(sum(stake), 0)::text from run_inputs where run_id = closing.id) as "totalAtRisk"
    from (select id, value from meta_model_runs where era_number = ${era} order by seq desc limit 1) latest
    cross join (select id from meta_model_runs where era_number = ${era} and seq = 1) closing`);
  return rows[0];
}

/** The published value (float64 LE by universe position) of the era's latest run, if it has one. */
export async function latestRunValue(executor: Executor, era: number): Promise<Buffer | undefined> {
  const [run] = await executor
    .select({ value: metaModelRuns.value })
    .from(metaModelRuns)
    .where(eq(metaModelRuns.eraNumber, era))
    .orderBy(desc(metaModelRuns.seq))
    .limit(1);
  return run?.value;
}
