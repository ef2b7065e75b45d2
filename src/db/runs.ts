import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { encodeFloat64 } from '../domain/packed.js';
import type { PolicyRef } from '../domain/policy/apply-to-run.js';
import type { Executor } from './client.js';
import { copyBinaryOut } from './copy-binary.js';
import { closeTakes } from './ledger.js';
import { metaModelRuns, policies, runInputs } from './schema.js';
import { LOCK_CLASS } from './locks.js';

/**
 * Meta-model runs (meta_model_runs) and their lineage (run_inputs): the closing run of an era
 * (seq 1), whose inputs are the at-risk snapshot (src/db/ledger.ts, snapshotAtRisk), and one
 * more per recompute from the same inputs. Every function takes an Executor first, except the
 * named exception: the streaming read of a run's inputs (their prepared vectors, by binary COPY,
 * `streamInputs`) takes the transaction's raw client first.
 */

export type RunTrigger = (typeof metaModelRuns.$inferSelect)['trigger'];

/** One model's input to a run: its submission and at-risk stake (exact decimal). */
export type RunInput = Omit<typeof runInputs.$inferSelect, 'runId'>;

/** A run's lineage entry: what went in, which policy, when and how long. */
export interface RunSummary {
  id: string;
  era: number;
  seq: number;
  trigger: RunTrigger;
  computedAt: Date;
  durationMs: number;
  policy: PolicyRef | null;
  models: number;
  totalStake: string;
  tradable: number;
  inputs?: RunInput[];
}

/** Advisory lock class of an era's runs (two-key form, the era number second; see src/db/ledger.ts). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Serialises the runs of one era (recomputes) until the transaction ends. */
export async function lockRuns(executor: Executor, era: number): Promise<void> {
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.runs}, ${era})`);
}

/** run_inputs references the run, so its row comes first; the transaction hides it until it is complete. */
export async function insertRun(
  executor: Executor,
  run: { era: number; seq: number; trigger: RunTrigger; policyId: string | null; actorId: string | null },
): Promise<string> {
  const empty = Buffer.alloc(0);
  const [row] = await executor
    .insert(metaModelRuns)
    .values({
      eraNumber: run.era,
      seq: run.seq,
      trigger: run.trigger,
      policyId: run.policyId,
      models: 0,
      totalStake: '0',
      tradable: 0,
      unconstrained: empty,
      signal: empty,
      value: empty,
      excludedBy: {},
      observedBy: {},
      durationMs: 0,
      computedBy: run.actorId,
    })
    .returning({ id: metaModelRuns.id });
  return row.id;
}

/** The closing run's id and the seq the next run of the era takes. */
export async function closingRunAndNextSeq(executor: Executor, era: number): Promise<{ closingRun: string; nextSeq: number }> {
  const [row] = (
    await executor.execute<{ closingRun: string; nextSeq: number }>(sql`
            select (select id from meta_model_runs where era_number = ${era} and seq = 1) as "closingRun",
                   (select max(seq) + 1 from meta_model_runs where era_number = ${era})::int as "nextSeq"`)
  ).rows;
  return row;
}

/**
 * A recompute's inputs: the closing run's, as they are (the at-risk set is fixed at close). Here
 * and below, run_inputs is read with its era as a value, so the planner reads that era's partition
 * only; an era the planner cannot see (a subquery) has every partition planned and locked.
 */
export async function copyRunInputs(executor: Executor, era: number, fromRun: string, toRun: string): Promise<void> {
  await executor.execute(sql`
          insert into run_inputs (run_id, model_id, submission_id, sha256, stake, era_number)
          select ${toRun}, model_id, submission_id, sha256, stake, era_number from run_inputs
          where run_id = ${fromRun} and era_number = ${era}`);
}

/** The run's input stakes, ordered by model as the run sums them. */
export async function runInputStakes(executor: Executor, era: number, runId: string): Promise<number[]> {
  const stakes = await executor
    .select({ stake: sql<number>`${runInputs.stake}::float8` })
    .from(runInputs)
    .where(and(eq(runInputs.runId, runId), eq(runInputs.eraNumber, era)))
    .orderBy(asc(runInputs.modelId));
  return stakes.map((s) => s.stake);
}

/** What a computed run records besides its inputs. */
export interface ComputedRun {
  tradable: number;
  unconstrained: Float64Array;
  signal: Float64Array;
  value: Float64Array;
  excludedBy: Record<string, string[]>;
  observedBy: Record<string, string[]>;
  policyReport: unknown;
  durationMs: number;
}

/** Completes the run row: its vectors, the policy's outcome, and its model count and total stake from its inputs. */
export async function completeRun(executor: Executor, era: number, runId: string, run: ComputedRun): Promise<void> {
  await executor.execute(sql`
      update meta_model_runs set
        models = inputs.models, total_stake = inputs.total_stake, tradable = ${run.tradable},
        unconstrained = ${encodeFloat64(run.unconstrained)}, signal = ${encodeFloat64(run.signal)}, value = ${encodeFloat64(run.value)},
        excluded_by = ${JSON.stringify(run.excludedBy)}::jsonb, observed_by = ${JSON.stringify(run.observedBy)}::jsonb,
        policy_report = ${JSON.stringify(run.policyReport)}::jsonb,
        duration_ms = ${run.durationMs}
      from (select count(*)::int as models, coalesce(sum(stake), 0) as total_stake from run_inputs
            where run_id = ${runId} and era_number = ${era}) inputs
      where id = ${runId}`);
}

export async function runTotalStake(executor: Executor, runId: string): Promise<string> {
  const [{ totalStake }] = await executor.select({ totalStake: metaModelRuns.totalStake }).from(metaModelRuns).where(eq(metaModelRuns.id, runId));
  return totalStake;
}

/** The report's figures, computed once per run and read from the run afterwards. */
export async function setRunReport(executor: Executor, runId: string, report: unknown): Promise<void> {
  await executor.update(metaModelRuns).set({ report }).where(eq(metaModelRuns.id, runId));
}

/** Which runs runSummaries reads: one by id, an era's, or one run of an era by seq. */
export type RunsOf = { runId: string } | { era: number; seq?: number };

function runsWhere(of: RunsOf): SQL | undefined {
  if ('runId' in of) return eq(metaModelRuns.id, of.runId);
  return of.seq === undefined ? eq(metaModelRuns.eraNumber, of.era) : and(eq(metaModelRuns.eraNumber, of.era), eq(metaModelRuns.seq, of.seq));
}

/** Runs in seq order (the latest only with `latestOnly`), each with its policy and, with `inputs`, its inputs by model. */
export async function runSummaries(executor: Executor, of: RunsOf, options: { inputs?: boolean; latestOnly?: boolean } = {}): Promise<RunSummary[]> {
  const query = executor
    .select({
      id: metaModelRuns.id,
      era: metaModelRuns.eraNumber,
      seq: metaModelRuns.seq,
      trigger: metaModelRuns.trigger,
      computedAt: metaModelRuns.computedAt,
      durationMs: metaModelRuns.durationMs,
      policyId: policies.id,
      policyName: policies.name,
      policyVersion: policies.version,
      models: metaModelRuns.models,
      totalStake: metaModelRuns.totalStake,
      tradable: metaModelRuns.tradable,
    })
    .from(metaModelRuns)
    .leftJoin(policies, eq(policies.id, metaModelRuns.policyId))
    .where(runsWhere(of))
    .orderBy(options.latestOnly ? desc(metaModelRuns.seq) : asc(metaModelRuns.seq));
  const rows = options.latestOnly ? await query.limit(1) : await query;
  const runs: RunSummary[] = rows.map(({ policyId, policyName, policyVersion, ...run }) => ({
    ...run,
    policy: policyId === null || policyName === null || policyVersion === null ? null : { id: policyId, name: policyName, version: policyVersion },
  }));
  if (options.inputs && runs.length > 0) {
    const inputs = await executor
      .select()
      .from(runInputs)
      .where(and(inArray(runInputs.runId, runs.map((r) => r.id)), inArray(runInputs.eraNumber, [...new Set(runs.map((r) => r.era))])))
      .orderBy(asc(runInputs.runId), asc(runInputs.modelId));
    const byRun = new Map(runs.map((r): [string, RunInput[]] => [r.id, (r.inputs = [])]));
    for (const { runId, ...input } of inputs) byRun.get(runId)!.push(input);
  }
  return runs;
}

/** The stored vectors of a run, for serving it. */
export async function runVectors(executor: Executor, runId: string) {
  const [vectors] = await executor
    .select({ unconstrained: metaModelRuns.unconstrained, value: metaModelRuns.value, excludedBy: metaModelRuns.excludedBy })
    .from(metaModelRuns)
    .where(eq(metaModelRuns.id, runId));
  return vectors;
}

/** The at-risk snapshot a close would take now (db/ledger.ts closeTakes), ordered by model as a run sums them ($1: the era number). */
const OPEN_ERA_INPUTS = `select $columns from ${closeTakes('now')} where e.number = $1 order by s.model_id`;

/** For the reads of an open era's inputs: one snapshot, so its stakes and streamed submissions are the same models. */
export async function repeatableRead(executor: Executor): Promise<void> {
  await executor.execute(sql`set transaction isolation level repeatable read`);
}

/** The stakes a close would take now: each model's current on-time submission and its positive stake now, by model. */
export async function openEraStakes(executor: Executor, era: number): Promise<number[]> {
  if (!Number.isSafeInteger(era)) throw new Error(`not an era number: ${era}`);
  const query = OPEN_ERA_INPUTS.replace('$columns', 'stake.amount::float8 as stake').replace('$1', String(era));
  const { rows } = await executor.execute<{ stake: number }>(sql.raw(query));
  return rows.map((r) => r.stake);
}

/** Whose inputs streamInputs reads: a stored run's (`run_inputs`), or what a close of an open era would take now. */
export type InputsOf = { runId: string; era: number } | { openEra: number };

/** The COPY text of the inputs' rank codes, coverage and stake (COPY takes no parameters, so values are written in). */
function inputsCopyText(of: InputsOf): string {
  if ('openEra' in of) {
    if (!Number.isSafeInteger(of.openEra)) throw new Error(`not an era number: ${of.openEra}`);
    return OPEN_ERA_INPUTS.replace('$columns', 's.ranks, s.covered, stake.amount::float8').replace('$1', String(of.openEra));
  }
  if (!UUID.test(of.runId)) throw new Error(`not a run id: ${of.runId}`);
  if (!Number.isSafeInteger(of.era)) throw new Error(`not an era number: ${of.era}`);
  return `select s.ranks, s.covered, ri.stake::float8
       from run_inputs ri join submissions s on s.era_number = ri.era_number and s.id = ri.submission_id
       where ri.run_id = '${of.runId}' and ri.era_number = ${of.era} and s.era_number = ${of.era}
       order by ri.model_id`;
}

/**
 * Streams the prepared vectors of a run's inputs, or of an open era's would-be inputs, by binary
 * COPY, ordered by model (so a recompute from the same inputs sums in the same order, bit for bit,
 * and an open era's stream matches `openEraStakes`). `ranks` is valid only during the callback.
 */
export async function streamInputs(
  client: pg.PoolClient,
  of: InputsOf,
  onInput: (ranks: Buffer, covered: number, stake: number) => void,
): Promise<void> {
  await copyBinaryOut(client, inputsCopyText(of), ([ranks, covered, stake]) => onInput(ranks!, covered!.readInt32BE(0), stake!.readDoubleBE(0)));
}

// Previews and scoring: an era's latest run, and the closest earlier era with one (a preview's turnover).

/** The latest run of an era (its unconstrained M and its traded value), or null when it has none. */
export async function latestRun(executor: Executor, eraNumber: number) {
  const [run] = await executor
    .select({ id: metaModelRuns.id, seq: metaModelRuns.seq, unconstrained: metaModelRuns.unconstrained, value: metaModelRuns.value })
    .from(metaModelRuns)
    .where(eq(metaModelRuns.eraNumber, eraNumber))
    .orderBy(desc(metaModelRuns.seq))
    .limit(1);
  return run ?? null;
}

/** The latest era that has a run, or null. */
export async function latestEraWithRun(executor: Executor): Promise<number | null> {
  const [row] = await executor.select({ era: sql<number | null>`max(${metaModelRuns.eraNumber})` }).from(metaModelRuns);
  return row?.era ?? null;
}

/** The latest era before `eraNumber` that has a run, or null. */
export async function previousEraWithRun(executor: Executor, eraNumber: number): Promise<number | null> {
  const [row] = await executor
    .select({ era: sql<number | null>`max(${metaModelRuns.eraNumber})` })
    .from(metaModelRuns)
    .where(lt(metaModelRuns.eraNumber, eraNumber));
  return row?.era ?? null;
}

// Scoring: the run whose value is traded (MMC and the meta-model's own CORR are taken against it)
// and the closing run, whose inputs hold the at-risk stakes.

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
           (select coalesce(sum(stake), 0)::text from run_inputs where run_id = closing.id and era_number = ${era}) as "totalAtRisk"
    from (select id, value from meta_model_runs where era_number = ${era} order by seq desc limit 1) latest
    cross join (select id from meta_model_runs where era_number = ${era} and seq = 1) closing`);
  return rows[0];
}
