import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type pg from 'pg';
import { inClientTransaction, type ClientTransaction, type Database, type Executor } from '../db/client.js';
import { eras, metaModelRuns, scores, submissions, targets } from '../db/schema.js';
import { decodeFloat64, encodeFloat64 } from '../domain/packed.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { numeraiCorr, payoutFactor, TargetScorer, type Score } from '../domain/scoring.js';
import { conflict, notFound } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import { parseTarget } from '../ingest/target.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';
import { payoutParams, type EraRow, type ErasService } from './eras.js';
import type { ModelsService } from './models.js';
import type { ReportFiguresService } from './report-figures.js';

/** Payouts are exact decimals: stake × factor rounded half away from zero to this many places. */
export const PAYOUT_SCALE = 10;

/** Submissions fetched and scores written per round trip: memory is bounded whatever the number of models. */
const SCORE_BATCH = 500;

/**
 * One status per score row: 'ok'; the shared reason when neither score exists
 * ('insufficient_overlap', 'degenerate', 'empty'); else which one is missing and why
 * ('mmc_empty', 'mmc_degenerate', 'corr_degenerate').
 */
export function scoreStatus(corr: Score, mmc: Score): string {
  if (corr.status === 'ok') return mmc.status === 'ok' ? 'ok' : `mmc_${mmc.status}`;
  return mmc.status === 'ok' ? `corr_${corr.status}` : corr.status;
}

export interface EraScore {
  modelId: string;
  submissionId: string;
  late: boolean;
  status: string;
  corr: number | null;
  mmc: number | null;
  stake: string | null;
  payout: string | null;
}

type EraRuns = {
  /** the latest run: its value vector is the traded signal MMC is taken against */
  latest: string;
  value: Buffer;
  /** the closing run: its inputs are the at-risk stakes */
  closing: string;
  totalAtRisk: string;
};

type Tx = ClientTransaction;

interface StreamedSubmission {
  id: string;
  model_id: string;
  late: boolean;
  ranks: Buffer;
  /** at-risk stake in the closing run, null when the submission is not one of its inputs */
  stake: string | null;
}

/** What a served score row says about one submission's score (joined with its submission). */
const SCORE_COLUMNS = {
  submissionId: scores.submissionId,
  late: submissions.late,
  status: scores.status,
  corr: scores.corr,
  mmc: scores.mmc,
  stake: scores.stake,
  payout: scores.payout,
};

export function scoringService(deps: { db: Database; pool: pg.Pool; audit: AuditService; eras: ErasService; models: ModelsService; reportFigures: ReportFiguresService }) {
  const { db, pool, audit, eras: erasService, models, reportFigures } = deps;

  const inTransaction = <T>(fn: (t: Tx) => Promise<T>) => inClientTransaction(pool, fn);

  /** The latest run (the one traded) and the closing run (whose inputs hold the at-risk stakes). */
  async function runsOf(executor: Executor, number: number): Promise<EraRuns | undefined> {
    const { rows } = await executor.execute<EraRuns>(sql`
      select latest.id as latest, latest.value, closing.id as closing,
             (select coalesce(sum(stake), 0)::text from run_inputs where run_id = closing.id) as "totalAtRisk"
      from (select id, value from meta_model_runs where era_number = ${number} order by seq desc limit 1) latest
      cross join (select id from meta_model_runs where era_number = ${number} and seq = 1) closing`);
    return rows[0];
  }

  function assertScorable(era: EraRow) {
    if (era.resolvedAt) throw conflict(`era ${era.number} is resolved; its targets are frozen`);
    if (!era.closedAt) throw conflict(`era ${era.number} is not closed yet; scoring needs its traded meta-model, close the era first`);
  }

  /**
   * Scores every current submission of the era (on-time and late) on one target, or only
   * submission `only`, streaming rank codes and writing one multi-row upsert per batch. On the
   * main target, the closing run's inputs also get their at-risk stake and payout; a model with
   * no score pays 0.
   */
  async function scoreTarget({ client }: Tx, era: EraRow, name: string, target: Float64Array, run: EraRuns, only?: string) {
    const scorer = new TargetScorer(target, decodeFloat64(run.value));
    const paying = name === era.mainTarget;
    const params = payoutParams(era);
    const totalAtRisk = Number(run.totalAtRisk);

    await client.query({
      text: `declare submissions_to_score no scroll cursor for
             select s.id, s.model_id, s.late, s.ranks, ri.stake::text as stake
             from submissions s
             left join run_inputs ri on ri.run_id = $2 and ri.model_id = s.model_id and ri.submission_id = s.id
             where s.era_number = $1 and not s.superseded ${only === undefined ? '' : 'and s.id = $3'}`,
      values: only === undefined ? [era.number, run.closing] : [era.number, run.closing, only],
    });
    let scored = 0;
    for (;;) {
      const batch = await client.query<StreamedSubmission>(`fetch ${SCORE_BATCH} from submissions_to_score`);
      const n = batch.rows.length;
      const ids = new Array<string>(n);
      const modelIds = new Array<string>(n);
      const statuses = new Array<string>(n);
      const corrs = new Array<number | null>(n);
      const mmcs = new Array<number | null>(n);
      const stakes = new Array<string | null>(n);
      const factors = new Array<string | null>(n);
      batch.rows.forEach((row, k) => {
        const { corr, mmc } = scorer.score(decodeRankCodes(row.ranks));
        const paid = paying && !row.late && row.stake !== null;
        ids[k] = row.id;
        modelIds[k] = row.model_id;
        statuses[k] = scoreStatus(corr, mmc);
        corrs[k] = corr.value;
        mmcs[k] = mmc.value;
        stakes[k] = paid ? row.stake : null;
        // The shortest round-trip text of the float factor, so the numeric product starts from its exact value.
        factors[k] = paid ? String(payoutFactor(corr.value, mmc.value, params, totalAtRisk)) : null;
      });
      if (n > 0) {
        await client.query({
          text: `insert into scores (submission_id, target, era_number, model_id, run_id, status, corr, mmc, stake, payout)
                 select u.submission_id, $1, $2, u.model_id, $3, u.status, u.corr, u.mmc, u.stake,
                        trim_scale(round(u.stake * u.factor, ${PAYOUT_SCALE}))
                 from unnest($4::uuid[], $5::uuid[], $6::text[], $7::float8[], $8::float8[], $9::numeric[], $10::numeric[])
                   as u(submission_id, model_id, status, corr, mmc, stake, factor)
                 on conflict (submission_id, target) do update set
                   run_id = excluded.run_id, status = excluded.status, corr = excluded.corr, mmc = excluded.mmc,
                   stake = excluded.stake, payout = excluded.payout, computed_at = now()`,
          values: [name, era.number, run.latest, ids, modelIds, statuses, corrs, mmcs, stakes, factors],
        });
      }
      scored += n;
      if (n < SCORE_BATCH) break;
    }
    await client.query('close submissions_to_score');
    // A late submission replaced since the last upload keeps no score on this target.
    await client.query(
      `delete from scores sc using submissions s
       where s.id = sc.submission_id and sc.era_number = $1 and sc.target = $2 and s.superseded
         ${only === undefined ? '' : 'and s.model_id = (select model_id from submissions where id = $3)'}`,
      only === undefined ? [era.number, name] : [era.number, name, only],
    );
    return scored;
  }

  /**
   * Scores against the latest run on every stored target of the era: every current submission,
   * or only submission `only`. The caller holds the era row lock and has checked it is not resolved.
   */
  async function rescoreTargets(t: Tx, era: EraRow, only?: string): Promise<string[]> {
    const run = await runsOf(t.tx, era.number);
    if (!run) return [];
    const stored = await t.tx
      .select({ name: targets.name, values: targets.values })
      .from(targets)
      .where(eq(targets.eraNumber, era.number))
      .orderBy(asc(targets.name));
    for (const { name, values } of stored) await scoreTarget(t, era, name, decodeFloat64(values), run, only);
    return stored.map((s) => s.name);
  }

  async function paidTotal(executor: Executor, number: number): Promise<string> {
    const { rows } = await executor.execute<{ total: string }>(sql`
      select coalesce(sum(delta), 0)::text as total from stake_events where era_number = ${number} and kind = 'payout'`);
    return rows[0].total;
  }

  return {
    /**
     * Stores (or replaces) one target of a closed era and re-scores every current submission
     * on it in the same transaction. The era row lock (NO KEY UPDATE: late submissions still
     * arrive) serializes uploads with each other and with resolution.
     */
    async uploadTarget(actorId: string, number: number, name: string, body: IngestBody) {
      const before = await erasService.get(number);
      assertScorable(before);
      const universe = await erasService.universeIndex(before);
      const parsed = parseTarget(body, universe, { era: number });

      return inTransaction(async (t) => {
        const { tx } = t;
        const [era] = await tx.select().from(eras).where(eq(eras.number, number)).for('no key update');
        assertScorable(era);
        if (era.universeDigest !== universe.digest) throw conflict(`era ${number}'s universe changed while the target was checked; upload it again`);
        const run = await runsOf(tx, number);
        if (!run) throw conflict(`era ${number} has no meta-model run; scoring needs the traded meta-model`);

        const [previous] = await tx
          .select({ count: targets.count, uploadedAt: targets.uploadedAt })
          .from(targets)
          .where(and(eq(targets.eraNumber, number), eq(targets.name, name)));
        const values = encodeFloat64(parsed.aligned);
        await tx
          .insert(targets)
          .values({ eraNumber: number, name, values, count: parsed.count, uploadedBy: actorId })
          .onConflictDoUpdate({
            target: [targets.eraNumber, targets.name],
            set: { values, count: parsed.count, uploadedBy: actorId, uploadedAt: sql`now()` },
          });
        const scored = await scoreTarget(t, era, name, parsed.aligned, run);
        await reportFigures.afterTarget(tx, number, name, parsed.aligned);
        await audit.record(tx, {
          actorId,
          action: 'target.upload',
          subject: `era:${number}`,
          details: { target: name, count: parsed.count, scored, run: run.latest, main: name === era.mainTarget, before: previous ?? null },
        });
        return { era: number, target: name, count: parsed.count, scored };
      });
    },

    /**
     * Scores one newly stored submission on the era's stored targets, if any: a late submission
     * arriving after a target upload. The era row lock (as an upload takes it) makes an upload
     * in flight either score the submission itself or commit before this reads the targets.
     */
    async scoreSubmission(number: number, submissionId: string): Promise<string[]> {
      return inTransaction(async (t) => {
        const [era] = await t.tx.select().from(eras).where(eq(eras.number, number)).for('no key update');
        if (!era?.closedAt || era.resolvedAt) return [];
        return rescoreTargets(t, era, submissionId);
      });
    },

    /**
     * Re-scores every stored target of an era against its latest run, inside the caller's
     * transaction (a recompute's), which holds the era row FOR NO KEY UPDATE or stronger.
     */
    async rescoreEra(t: Tx, era: EraRow): Promise<string[]> {
      assertScorable(era);
      return rescoreTargets(t, era);
    },

    /**
     * Applies the main target's payouts to stakes once: the era row lock serializes resolvers,
     * a resolved era returns its result unchanged, and the unique (model, era) payout index
     * backs that up. Each balance is the model's latest balance plus its payout, in numeric.
     */
    async resolve(actorId: string, number: number) {
      return db.transaction(async (tx) => {
        const [era] = await tx.select().from(eras).where(eq(eras.number, number)).for('update');
        if (!era) throw notFound(`era ${number} does not exist`);
        if (era.resolvedAt) return { era: number, status: 'resolved' as const, totalPayout: await paidTotal(tx, number) };
        if (!era.closedAt) throw conflict(`era ${number} is not closed yet`);
        const [main] = await tx
          .select({ name: targets.name })
          .from(targets)
          .where(and(eq(targets.eraNumber, number), eq(targets.name, era.mainTarget)));
        if (!main) throw conflict(`era ${number} has no "${era.mainTarget}" target yet (its main target); upload it before resolving`);

        const paid = sql`
          select sc.model_id, sc.payout from scores sc join submissions s on s.id = sc.submission_id
          where sc.era_number = ${number} and sc.target = ${era.mainTarget} and sc.payout is not null
            and not s.late and not s.superseded`;
        // The same row locks a stake change takes, so no balance moves under the payout.
        await tx.execute(sql`select id from models where id in (select model_id from (${paid}) p) order by id for update`);
        // Previous balance = the model's latest event (highest id), found in one pass rather than one lookup per model.
        const inserted = await tx.execute(sql`
          with paid as (${paid}),
          latest as (
            select distinct on (se.model_id) se.model_id, se.balance
            from stake_events se join paid p on p.model_id = se.model_id
            order by se.model_id, se.id desc)
          insert into stake_events (model_id, kind, delta, balance, era_number)
          select p.model_id, 'payout', p.payout, coalesce(l.balance, 0) + p.payout, ${number}
          from paid p left join latest l on l.model_id = p.model_id
          order by p.model_id
          on conflict (model_id, era_number) where kind = 'payout' do nothing`);
        await tx.update(eras).set({ resolvedAt: sql`now()` }).where(eq(eras.number, number));
        const totalPayout = await paidTotal(tx, number);
        await audit.record(tx, {
          actorId,
          action: 'era.resolve',
          subject: `era:${number}`,
          details: { target: era.mainTarget, models: inserted.rowCount ?? 0, totalPayout },
        });
        return { era: number, status: 'resolved' as const, totalPayout };
      });
    },

    /** Every current submission's score on one target, and the traded meta-model's own CORR on it. */
    async eraScores(number: number, name?: string) {
      const era = await erasService.get(number);
      const target = name ?? era.mainTarget;
      const [stored] = await db
        .select({ values: targets.values })
        .from(targets)
        .where(and(eq(targets.eraNumber, number), eq(targets.name, target)));
      if (!stored) throw notFound(`era ${number} has no target "${target}"`);
      const [run] = await db
        .select({ value: metaModelRuns.value })
        .from(metaModelRuns)
        .where(eq(metaModelRuns.eraNumber, number))
        .orderBy(desc(metaModelRuns.seq))
        .limit(1);
      // numerai_corr of the published value (NaN outside T) over the tradable ids with a target.
      const metaModelCorr = run ? numeraiCorr(decodeFloat64(run.value), decodeFloat64(stored.values)) : NaN;
      const rows: EraScore[] = await db
        .select({ modelId: scores.modelId, ...SCORE_COLUMNS })
        .from(scores)
        .innerJoin(submissions, eq(submissions.id, scores.submissionId))
        .where(and(eq(scores.eraNumber, number), eq(scores.target, target), eq(submissions.superseded, false)))
        .orderBy(asc(submissions.late), asc(scores.modelId));
      return { era: number, target, metaModelCorr: Number.isNaN(metaModelCorr) ? null : metaModelCorr, scores: rows };
    },

    /** One model's scores across eras and targets, newest era first; owners and staff only. */
    async modelScores(who: Principal, modelId: string) {
      await models.getReadable(modelId, who);
      const rows = await db
        .select({ era: scores.eraNumber, target: scores.target, ...SCORE_COLUMNS, computedAt: scores.computedAt })
        .from(scores)
        .innerJoin(submissions, eq(submissions.id, scores.submissionId))
        .where(and(eq(scores.modelId, modelId), eq(submissions.superseded, false)))
        .orderBy(desc(scores.eraNumber), asc(scores.target), asc(submissions.late));
      return { modelId, scores: rows };
    },
  };
}

export type ScoringService = ReturnType<typeof scoringService>;
