import { performance } from 'node:perf_hooks';
import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { inClientTransaction, type ClientTransaction, type Database, type Executor } from '../db/client.js';
import { copyBinaryOut } from '../db/copy-binary.js';
import * as ledger from '../db/ledger.js';
import { eras, metaModelRuns, policies, runInputs } from '../db/schema.js';
import { decodeFloat64, encodeFloat64 } from '../domain/packed.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { applyPolicy, type PolicyDocument } from '../domain/policy/index.js';
import { policyRunReport, sparseRuleIds, type PolicyRunReport } from '../domain/policy/run-report.js';
import { sectorLabels, StakeDecileMeans, stakeDeciles } from '../domain/report.js';
import type { UniverseRow } from '../domain/universe.js';
import { conflict, notFound } from '../errors.js';
import type { AuditService } from './audit.js';
import type { EraRow, ErasService } from './eras.js';
import { policiesDal } from '../db/policies.js';
import { runFigures } from '../domain/era-report.js';
import { versionForEra } from './policies.js';
import type { ReportFiguresService } from './report-figures.js';

export type RunTrigger = 'close' | 'recompute';

export interface PolicyRef {
  id: string;
  name: string;
  version: number;
}

export interface RunInput {
  modelId: string;
  submissionId: string;
  sha256: string;
  stake: string;
}

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

export interface CloseResult {
  era: EraRow;
  run: RunSummary;
  /** true when this call closed the era, false when it was already closed */
  closedNow: boolean;
}

/** The policy version in force at an era's cutoff, as a run applies it. */
export interface PolicyInForce extends PolicyRef {
  document: PolicyDocument;
}

/** The traded signal of a run (DESIGN §2 step 5); vectors are aligned to universe positions. */
export interface TradedSignal {
  tradable: Uint8Array;
  /** S: NaN outside T */
  signal: Float64Array;
  /** tie-kept rank of S over T: NaN outside T */
  value: Float64Array;
  /** sparse: universe position → rule ids */
  excludedBy: Record<string, string[]>;
  observedBy: Record<string, string[]>;
  policyId: string | null;
  report: unknown;
}

/**
 * The seam between a run and the exclusion policy: with no policy, T = U and S = M; in shadow
 * mode the served signal is M and the report records what enforcing would have done.
 */
export function applyPolicyToRun(policy: PolicyInForce | null, universe: readonly UniverseRow[], unconstrained: Float64Array): TradedSignal {
  if (universe.length !== unconstrained.length) {
    throw new RangeError(`universe has ${universe.length} ids but the meta-model ${unconstrained.length}`);
  }
  const applied = applyPolicy(policy?.document ?? null, universe, unconstrained);
  return {
    tradable: applied.tradable,
    signal: applied.signal,
    value: applied.value,
    excludedBy: sparseRuleIds(applied.excludedBy),
    observedBy: sparseRuleIds(applied.observedBy),
    policyId: policy?.id ?? null,
    report: policyRunReport(applied, unconstrained),
  };
}

// Advisory lock classes (first key of the two-key form); the second key is the era number.
const CLOSE_LOCK = 0x53570001;
const RUNS_LOCK = 0x53570002;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Tx = ClientTransaction;

/** The at-risk snapshot a close would take now, ordered by model as a run sums them ($1: the era number). */
const OPEN_ERA_INPUTS = `
  select $columns
  from submissions s
  cross join lateral (
    select se.amount from stake_entries se where se.model_id = s.model_id order by se.seq desc limit 1
  ) stake
  where s.era_number = $1 and not s.late and not s.superseded and stake.amount > 0
  order by s.model_id`;

/** Re-scores the era's stored targets against its latest run, in the recompute's transaction (wired to scoring in app.ts). */
export type RescoreEra = (t: Tx, era: EraRow) => Promise<string[]>;

export function metaModelService(deps: { db: Database; pool: pg.Pool; audit: AuditService; eras: ErasService; rescoreEra: RescoreEra; reportFigures: ReportFiguresService }) {
  const { db, pool, audit, eras: erasService, rescoreEra, reportFigures } = deps;

  const inTransaction = <T>(fn: (t: Tx) => Promise<T>) => inClientTransaction(pool, fn);

  /**
   * The policy version in force for the era (the activations table, by era number). The shared
   * lock orders this read with activations, which take it exclusively while they pick their era.
   */
  async function policyInForce(tx: Executor, era: EraRow): Promise<PolicyInForce | null> {
    await policiesDal(tx).lockActivations('shared');
    return versionForEra(era.number, tx);
  }

  /**
   * Streams the prepared vectors of a run's inputs into M, one submission at a time (memory is one
   * Float64Array whatever the number of models), applies the policy and completes the run row.
   */
  async function computeRun({ client, tx }: Tx, era: EraRow, runId: string, policy: PolicyInForce | null, started: number) {
    const n = era.universeSize;
    if (!UUID.test(runId)) throw new Error(`not a run id: ${runId}`);
    // Stake deciles are known before streaming, so M is summed by decile: the report splits sector tilts by them.
    const { rows: stakes } = await client.query<{ stake: number }>('select stake::float8 as stake from run_inputs where run_id = $1 order by model_id', [runId]);
    const byDecile = new StakeDecileMeans(n, stakeDeciles(stakes.map((r) => r.stake)));
    let k = 0;
    // Ordered by model so a recompute from the same inputs sums in the same order, bit for bit.
    await copyBinaryOut(
      client,
      `select s.ranks, s.covered, ri.stake::float8
       from run_inputs ri join submissions s on s.id = ri.submission_id
       where ri.run_id = '${runId}' order by ri.model_id`,
      ([ranks, covered, stake]) => byDecile.add(k++, decodeRankCodes(ranks!), covered!.readInt32BE(0), stake!.readDoubleBE(0)),
    );

    // No staked model: M is all zeros (every id at the middle rank), not 0/0.
    const unconstrained = byDecile.models > 0 ? byDecile.result() : new Float64Array(n);
    const universe = await erasService.universeRows(era.number, tx);
    const traded = applyPolicyToRun(policy, universe, unconstrained);
    // Kept next to the policy's counts (alone when no policy applied): per stake decile, the mean of M_d per sector.
    const report = { ...(traded.report as PolicyRunReport | null), deciles: byDecile.bySector(sectorLabels(universe)) };
    let tradable = 0;
    for (let i = 0; i < n; i++) tradable += traded.tradable[i];

    await tx.execute(sql`
      update meta_model_runs set
        models = inputs.models, total_stake = inputs.total_stake, tradable = ${tradable},
        unconstrained = ${encodeFloat64(unconstrained)}, signal = ${encodeFloat64(traded.signal)}, value = ${encodeFloat64(traded.value)},
        excluded_by = ${JSON.stringify(traded.excludedBy)}::jsonb, observed_by = ${JSON.stringify(traded.observedBy)}::jsonb,
        policy_report = ${JSON.stringify(report)}::jsonb,
        duration_ms = ${performance.now() - started}
      from (select count(*)::int as models, coalesce(sum(stake), 0) as total_stake from run_inputs where run_id = ${runId}) inputs
      where id = ${runId}`);

    // The report's figures are computed here, once per run, and read from the run afterwards.
    const [{ totalStake }] = await tx.select({ totalStake: metaModelRuns.totalStake }).from(metaModelRuns).where(eq(metaModelRuns.id, runId));
    const figures = runFigures({
      universe,
      unconstrained,
      signal: traded.signal,
      value: traded.value,
      tradable,
      observed: Object.keys(traded.observedBy).length,
      stakes: stakes.map((r) => r.stake),
      totalStake,
      policy,
      policyReport: traded.report as PolicyRunReport | null,
      deciles: report.deciles,
    });
    await tx.update(metaModelRuns).set({ report: figures }).where(eq(metaModelRuns.id, runId));
    await reportFigures.afterRun(tx, era.number);
  }

  /** run_inputs references the run, so its row comes first; the transaction hides it until it is complete. */
  async function insertRun(tx: Executor, era: number, seq: number, trigger: RunTrigger, policyId: string | null, actorId: string | null) {
    const empty = Buffer.alloc(0);
    const [run] = await tx
      .insert(metaModelRuns)
      .values({
        eraNumber: era,
        seq,
        trigger,
        policyId,
        models: 0,
        totalStake: '0',
        tradable: 0,
        unconstrained: empty,
        signal: empty,
        value: empty,
        excludedBy: {},
        observedBy: {},
        durationMs: 0,
        computedBy: actorId,
      })
      .returning({ id: metaModelRuns.id });
    return run.id;
  }

  async function runSummaries(executor: Executor, where: SQL | undefined, options: { inputs?: boolean; latestOnly?: boolean } = {}) {
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
      .where(where)
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
        .where(inArray(runInputs.runId, runs.map((r) => r.id)))
        .orderBy(asc(runInputs.runId), asc(runInputs.modelId));
      const byRun = new Map(runs.map((r): [string, RunInput[]] => [r.id, (r.inputs = [])]));
      for (const { runId, ...input } of inputs) byRun.get(runId)!.push(input);
    }
    return runs;
  }

  async function runById(executor: Executor, runId: string): Promise<RunSummary> {
    const [run] = await runSummaries(executor, eq(metaModelRuns.id, runId));
    return run;
  }

  /**
   * Closes an era once: the row lock serializes closers and waits for in-flight submissions,
   * and whoever finds closed_at set returns the closing run. `skipIfBusy` (the scheduler)
   * returns null instead of queueing behind another replica that is closing the same era.
   */
  async function close(actorId: string | null, number: number, skipIfBusy: boolean): Promise<CloseResult | null> {
    return inTransaction(async (t) => {
      const { client, tx } = t;
      if (skipIfBusy) {
        const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [CLOSE_LOCK, number]);
        if (!rows[0].locked) return null;
      }
      const [locked] = await tx.select().from(eras).where(eq(eras.number, number)).for('update');
      if (!locked) throw notFound(`era ${number} does not exist`);
      if (locked.closedAt) {
        const [run] = await runSummaries(tx, and(eq(metaModelRuns.eraNumber, number), eq(metaModelRuns.seq, 1)));
        return { era: locked, run, closedNow: false };
      }
      if (!locked.universeDigest) throw conflict(`era ${number} has no universe; set it before closing`);

      const started = performance.now();
      // The cutoff is stamped inside the stake lock, which waits for stake changes in flight and keeps new ones out
      // until this commits: every ledger entry stamped at or before closedAt is in the snapshot, every later one is not.
      // A scheduler that closes late still cuts off at closesAt, as submissions do.
      await ledger.lockStakes(tx);
      const [era] = await tx
        .update(eras)
        .set({ closedAt: sql`least(${eras.closesAt}, clock_timestamp())` })
        .where(eq(eras.number, number))
        .returning();
      const policy = await policyInForce(tx, era);
      const runId = await insertRun(tx, number, 1, 'close', policy?.id ?? null, actorId);
      await ledger.snapshotAtRisk(tx, number, runId);
      await computeRun(t, era, runId, policy, started);
      const run = await runById(tx, runId);
      await audit.record(tx, {
        actorId,
        action: 'era.close',
        subject: `era:${number}`,
        details: { closedAt: era.closedAt, run: run.id, models: run.models, totalStake: run.totalStake, by: actorId === null ? 'scheduler' : 'request' },
      });
      return { era, run, closedNow: true };
    });
  }

  async function closedEra(number: number): Promise<EraRow> {
    const era = await erasService.get(number);
    if (!era.closedAt) throw notFound(`era ${number} is not closed yet; its meta-model exists once it closes`);
    return era;
  }

  /**
   * M of an open era from what a close would take now: each model's current on-time submission and
   * its stake now (the latest history entry), if positive. Nothing is stored.
   */
  async function openEraMetaModel(number: number): Promise<{ unconstrained: Float64Array; models: number }> {
    return inTransaction(async ({ client }) => {
      // One snapshot for both reads, so the stakes and the streamed submissions are the same models.
      await client.query('set transaction isolation level repeatable read');
      const era = await erasService.get(number);
      const { rows: stakes } = await client.query<{ stake: number }>(`${OPEN_ERA_INPUTS.replace('$columns', 'stake.amount::float8 as stake')}`, [number]);
      const byDecile = new StakeDecileMeans(era.universeSize, stakeDeciles(stakes.map((r) => r.stake)));
      let k = 0;
      await copyBinaryOut(client, OPEN_ERA_INPUTS.replace('$columns', 's.ranks, s.covered, stake.amount::float8').replace('$1', String(number)), ([ranks, covered, stake]) =>
        byDecile.add(k++, decodeRankCodes(ranks!), covered!.readInt32BE(0), stake!.readDoubleBE(0)),
      );
      return { unconstrained: byDecile.models > 0 ? byDecile.result() : new Float64Array(era.universeSize), models: byDecile.models };
    });
  }

  return {
    applyPolicyToRun,

    openEraMetaModel,

    async closeEra(actorId: string | null, number: number): Promise<CloseResult> {
      return (await close(actorId, number, false))!;
    },

    /** For the scheduler: null when another replica holds the era's close lock right now. */
    async closeDueEra(number: number): Promise<CloseResult | null> {
      return close(null, number, true);
    },

    /** Eras past closesAt that nobody closed yet; eras without a universe cannot close and wait for one. */
    async dueEras(limit = 100): Promise<number[]> {
      const rows = await db
        .select({ number: eras.number })
        .from(eras)
        .where(sql`${eras.closedAt} is null and ${eras.closesAt} <= now() and ${eras.universeDigest} is not null`)
        .orderBy(asc(eras.closesAt), asc(eras.number))
        .limit(limit);
      return rows.map((r) => r.number);
    },

    /**
     * A new run from the closing run's inputs (the at-risk set is fixed at close): picks up a
     * corrected policy or universe, never new stakes or submissions. Stored targets are
     * re-scored against it in the same transaction, so scores never point at a superseded run.
     */
    async recompute(actorId: string, number: number): Promise<RunSummary> {
      return inTransaction(async (t) => {
        const { client, tx } = t;
        // NO KEY UPDATE, as a target upload takes it: waits for a close in progress, keeps the era from resolving and
        // uploads out while targets are re-scored, without blocking late submissions (KEY SHARE).
        const [era] = await tx.select().from(eras).where(eq(eras.number, number)).for('no key update');
        if (!era) throw notFound(`era ${number} does not exist`);
        if (!era.closedAt) throw conflict(`era ${number} is not closed yet; close it first`);
        if (era.resolvedAt) throw conflict(`era ${number} is resolved; its payouts used the current run, which stays final`);
        await client.query('select pg_advisory_xact_lock($1, $2)', [RUNS_LOCK, number]);

        const started = performance.now();
        const [{ closingRun, nextSeq }] = (
          await tx.execute<{ closingRun: string; nextSeq: number }>(sql`
            select (select id from meta_model_runs where era_number = ${number} and seq = 1) as "closingRun",
                   (select max(seq) + 1 from meta_model_runs where era_number = ${number})::int as "nextSeq"`)
        ).rows;
        const policy = await policyInForce(tx, era);
        const runId = await insertRun(tx, number, nextSeq, 'recompute', policy?.id ?? null, actorId);
        await tx.execute(sql`
          insert into run_inputs (run_id, model_id, submission_id, sha256, stake)
          select ${runId}, model_id, submission_id, sha256, stake from run_inputs where run_id = ${closingRun}`);
        await computeRun(t, era, runId, policy, started);
        const run = await runById(tx, runId);
        const rescored = await rescoreEra(t, era);
        await audit.record(tx, {
          actorId,
          action: 'metamodel.recompute',
          subject: `era:${number}`,
          details: { run: run.id, seq: run.seq, policy: run.policy, models: run.models, totalStake: run.totalStake, rescored },
        });
        return run;
      });
    },

    async runs(number: number, options: { inputs: boolean }): Promise<{ era: number; runs: RunSummary[] }> {
      await erasService.get(number);
      return { era: number, runs: await runSummaries(db, eq(metaModelRuns.eraNumber, number), options) };
    },

    /** The latest run of a closed era with one row per universe id, in universe order. */
    async latestRun(number: number) {
      const era = await closedEra(number);
      const [run] = await runSummaries(db, eq(metaModelRuns.eraNumber, number), { latestOnly: true });
      if (!run) throw notFound(`era ${number} has no meta-model run`);
      const [vectors] = await db
        .select({ unconstrained: metaModelRuns.unconstrained, value: metaModelRuns.value, excludedBy: metaModelRuns.excludedBy })
        .from(metaModelRuns)
        .where(eq(metaModelRuns.id, run.id));
      const universe = await erasService.universeIndex(era);
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
