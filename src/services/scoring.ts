import { boundedCache } from '../cache.js';
import { inClientTransaction, type ClientTransaction, type Database, type DatabaseHandle, type Executor } from '../db/client.js';
import { findEra, lockEra, markEraResolved } from '../db/eras.js';
import * as ledger from '../db/ledger.js';
import * as settlement from './settlement.js';
import { emitEvents } from '../db/events.js';
import { eraResolved, eraScored } from '../domain/events.js';
import { leaderboardWindow, modelResults, rankedStanding, recordResolvedEra, type StandingRow } from '../db/results.js';
import {
  closeSubmissionsToScore,
  currentScoresOfModel,
  deleteSupersededScores,
  emptyScoreColumns,
  eraPayouts,
  NewScoreRows,
  fetchSubmissionsToScore,
  openSubmissionsToScore,
  scoreHistory,
  scoresOnVersion,
  writeScores,
  type ServedScoreRow,
  type SubmissionToScore,
} from '../db/scores.js';
import { latestTarget, latestTargets, storeTargetVersions, targetOfVersion, type TargetVersion } from '../db/targets.js';
import { latestRun, scoringRuns, type ScoringRuns } from '../db/runs.js';
import { fromUnits } from '../domain/decimal.js';
import { decodeFloat64, encodeFloat64 } from '../domain/packed.js';
import { payoutReturn, summarizeSeries } from '../domain/performance.js';
import { decodeRankCodes } from '../domain/prepared.js';
import { scoreStatus } from '../domain/score-status.js';
import { numeraiCorr, payoutFactor } from '../domain/scoring.js';
import { TargetSetScorer } from '../domain/target-set.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { ParsedNamedTarget, TargetText } from '../ingest/target.js';
import type { Preparer } from '../ingest/worker-preparer.js';
import type { Principal } from './accounts.js';
import type { Actor, AuditService } from './audit.js';
import type { BundlesService } from './bundles.js';
import { payoutParams } from '../domain/era.js';
import type { EraRow, ErasService } from './eras.js';
import type { ModelsService } from './models.js';
import type { ReportFiguresService } from './report-figures.js';

export { PAYOUT_SCALE } from '../db/scores.js';
export { scoreStatus } from '../domain/score-status.js';

/** Submissions fetched and scored per round trip: memory is bounded whatever the number of models. */
const SCORE_BATCH = 500;

/** The leaderboard's window: the last W resolved eras. */
export const WINDOW = { min: 1, max: 260, default: 20 } as const;

export type EraScore = ServedScoreRow;

type Tx = ClientTransaction;

/** One version of a target, as scoring takes it. */
interface TargetToScore {
  name: string;
  version: number;
  values: Float64Array;
}

/**
 * Called inside an upload's transaction once the new versions are stored and scored (e.g. to
 * compute what the policy cost on them); a failure rolls the upload back.
 */
export type TargetsStoredHook = (t: Tx, era: EraRow, stored: TargetVersion[]) => Promise<void>;

export function scoringService(deps: {
  db: Database;
  pool: DatabaseHandle['pool'];
  audit: AuditService;
  eras: ErasService;
  models: ModelsService;
  bundles: BundlesService;
  /** the target performance and the leaderboard read when none is named */
  defaultTarget: string;
  afterTargetsStored?: TargetsStoredHook;
  reportFigures: ReportFiguresService;
  /** parses target uploads (on a worker thread when large) */
  preparer: Pick<Preparer, 'parseTargets'>;
  /** the most target columns one upload may hold (TARGETS_MAX_COLUMNS) */
  maxTargetColumns: number;
}) {
  const { db, pool, audit, eras: erasService, models, bundles, defaultTarget, afterTargetsStored, reportFigures, preparer, maxTargetColumns } = deps;

  const inTransaction = <T>(fn: (t: Tx) => Promise<T>) => inClientTransaction(pool, fn);

  /**
   * Ranked standings (every ranked model, in rank order) by target, window size, window bounds and
   * the resolved-era fingerprint, so a page is a slice, not a re-ranking of every model.
   *
   * Why an entry cannot be stale: a standing is a function of the running totals stored for the
   * window's last era and the era before it (and of model names, which never change). Those rows
   * are written only by recordResolvedEra, in the transaction that marks an era resolved, and an
   * era is resolved once (the resolver holds its row lock and returns early once resolved_at is
   * set; nothing clears it). So every committed change to them comes with a new member of the
   * resolved set, which changes its count (and latest resolution time) in the fingerprint, read
   * in the same statement as the window bounds. A request that sees the new set misses the old
   * entries, on every replica alike; old entries just age out. A miss ranks in one repeatable
   * read snapshot that first re-reads the fingerprint: when a resolution committed since the
   * request read it, nothing is cached and the request starts over, so an entry always holds
   * the ranking of the state its key names.
   */
  const standings = boundedCache<string, StandingRow[], { target: string; size: number; resolved: string }>({
    // Bounded by rows held: a standing of K models weighs K + 1.
    maxSize: { total: 200_000, sizeOf: (rows) => rows.length + 1 },
    staleness: 'cannot be stale: the key holds the resolved-era fingerprint, and a resolution (the only writer of the totals a standing ranks) changes it',
    // Concurrent misses on one key share one query.
    load: (_key, _stale, { context }) =>
      db.transaction(
        async (tx) => {
          const window = await leaderboardWindow(tx, context.size);
          if (window.resolved !== context.resolved) return undefined;
          return rankedStanding(tx, context.target, { last: window.eras[window.eras.length - 1], before: window.before });
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      ),
  });

  /**
   * An unresolved era's main target and the rows its resolution pays (resolve and its dry run
   * alike): 409 before the era closes or before its main target arrives.
   */
  async function resolvable(tx: Executor, era: EraRow) {
    if (!era.closedAt) throw conflict(`era ${era.number} is not closed yet`);
    const main = await latestTarget(tx, era.number, era.mainTarget);
    if (!main) throw conflict(`era ${era.number} has no "${era.mainTarget}" target yet (its main target); upload it before resolving`);
    return { main, payouts: await eraPayouts(tx, era.number, era.mainTarget) };
  }

  /** The ranking of `target` over the last `size` resolved eras, as of one state of the resolved eras. */
  async function ranking(target: string, size: number) {
    // Each retry follows a resolution committed meanwhile; five in a row would mean resolutions never pause.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { eras: window, before, resolved } = await leaderboardWindow(db, size);
      if (window.length === 0) return { window, ranked: [] };
      const key = `${target}\u0000${window[window.length - 1]}\u0000${before ?? ''}\u0000${resolved}`;
      const ranked = await standings.fetch(key, { context: { target, size, resolved } });
      if (ranked) return { window, ranked };
    }
    throw new Error('the resolved eras kept changing while the leaderboard was ranked');
  }

  function assertScorable(era: EraRow) {
    if (era.resolvedAt) throw conflict(`era ${era.number} is resolved; its targets are final and take no new version`);
    if (!era.closedAt) throw conflict(`era ${era.number} is not closed yet; scoring needs its traded meta-model, close the era first`);
  }

  /**
   * Scores every current submission of the era (on-time and late), or only submission `only`,
   * on every given target version in ONE pass: each submission's rank codes are read and
   * decoded once and scored on all of them. Batches are pipelined: the next batch is fetched
   * and the last one written while this one is scored. On the main target, the closing run's
   * inputs also get their at-risk stake and payout; a model with no score pays 0.
   *
   * `fresh`: the versions were stored in this transaction, so none has a score row yet; rows
   * that pay nothing (all but the main target's on-time at-risk ones) are then copied in
   * rather than upserted, which is most of the work of a many-target upload.
   */
  async function scoreTargets(t: Tx, era: EraRow, set: readonly TargetToScore[], run: ScoringRuns, options: { only?: string; fresh?: boolean } = {}): Promise<number> {
    const { only, fresh = false } = options;
    const { client } = t;
    if (set.length === 0) return 0;
    const scorer = new TargetSetScorer(
      set.map((target) => target.values),
      decodeFloat64(run.value),
    );
    const paying = set.map((target) => target.name === era.mainTarget);
    const params = payoutParams(era);
    const totalAtRisk = Number(run.totalAtRisk);
    const writes: Promise<unknown>[] = [];

    await openSubmissionsToScore(client, era.number, run.closing, only);
    let scored = 0;
    try {
      let next: Promise<SubmissionToScore[]> | undefined = fetchSubmissionsToScore(client, SCORE_BATCH);
      while (next) {
        const batch: SubmissionToScore[] = await next;
        next = batch.length === SCORE_BATCH ? fetchSubmissionsToScore(client, SCORE_BATCH) : undefined;
        if (batch.length === 0) break;
        const rows = emptyScoreColumns();
        const newRows = fresh ? new NewScoreRows(era.number, run.latest) : undefined;
        for (const submission of batch) {
          const scores = scorer.score(decodeRankCodes(submission.ranks));
          scores.forEach(({ corr, mmc }, j) => {
            const paid = paying[j] && !submission.late && submission.stake !== null;
            if (newRows !== undefined && !paid) {
              newRows.add(submission.id, submission.model_id, set[j].name, set[j].version, scoreStatus(corr, mmc), corr.value, mmc.value);
              return;
            }
            rows.targets.push(set[j].name);
            rows.versions.push(set[j].version);
            rows.submissionIds.push(submission.id);
            rows.modelIds.push(submission.model_id);
            rows.statuses.push(scoreStatus(corr, mmc));
            rows.corrs.push(corr.value);
            rows.mmcs.push(mmc.value);
            rows.stakes.push(paid ? submission.stake : null);
            // The shortest round-trip text of the float factor, so the numeric product starts from its exact value.
            rows.factors.push(paid ? String(payoutFactor(corr.value, mmc.value, params, totalAtRisk)) : null);
          });
        }
        for (const write of [
          newRows !== undefined && newRows.size > 0 ? newRows.write(client) : undefined,
          rows.targets.length > 0 ? writeScores(client, era.number, run.latest, rows) : undefined,
        ]) {
          if (write === undefined) continue;
          write.catch(() => {}); // awaited below; a failure aborts the transaction and surfaces there
          writes.push(write);
        }
        scored += batch.length;
      }
      await Promise.all(writes);
    } catch (error) {
      // A failed write aborts the transaction, so later queries fail too: report the write's own error.
      const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw failed ? failed.reason : error;
    }
    await closeSubmissionsToScore(client);
    await deleteSupersededScores(client, era.number, only);
    return scored;
  }

  /** The latest version of every stored target of the era, decoded, by name. */
  async function currentTargets(executor: Executor, number: number): Promise<TargetToScore[]> {
    const stored = await latestTargets(executor, number);
    return stored.map(({ name, version, values }) => ({ name, version, values: decodeFloat64(values) }));
  }

  /**
   * Scores against the latest run on the latest version of every stored target of the era:
   * every current submission, or only submission `only`. The caller holds the era row lock.
   */
  async function rescoreTargets(t: Tx, era: EraRow, only?: string): Promise<string[]> {
    const run = await scoringRuns(t.tx, era.number);
    if (!run) return [];
    const set = await currentTargets(t.tx, era.number);
    await scoreTargets(t, era, set, run, { only });
    return set.map((target) => target.name);
  }

  /**
   * Stores each parsed target as a new version and scores every current submission on all of
   * them in one pass, in one transaction. The era row lock (NO KEY UPDATE: late submissions
   * still arrive) serializes uploads with each other and with resolution.
   */
  async function storeAndScore(actor: Principal, number: number, body: TargetText, name?: string) {
    const before = await erasService.get(number);
    assertScorable(before);
    const universe = await erasService.universeIndex(before);
    const parsed: ParsedNamedTarget[] = await preparer.parseTargets(body, universe, {
      era: before.number,
      maxColumns: maxTargetColumns,
      mainTarget: before.mainTarget,
      name,
    });

    return inTransaction(async (t) => {
      const { tx } = t;
      const era = (await lockEra(tx, number, 'no key update'))!;
      assertScorable(era);
      if (era.universeDigest !== universe.digest) throw conflict(`era ${number}'s universe changed while the targets were checked; upload them again`);
      const run = await scoringRuns(tx, number);
      if (!run) throw conflict(`era ${number} has no meta-model run; scoring needs the traded meta-model`);

      const stored = await storeTargetVersions(
        tx,
        number,
        parsed.map((target) => ({ name: target.name, values: encodeFloat64(target.aligned), count: target.count })),
        actor.accountId,
      );
      const set = parsed.map((target, j) => ({ name: target.name, version: stored[j].version, values: target.aligned }));
      const scored = await scoreTargets(t, era, set, run, { fresh: true });
      // The cost of the policy on each new version, stored with the era's report figures.
      await reportFigures.afterTargets(tx, number, set);
      await afterTargetsStored?.(t, era, stored);
      await emitEvents(tx, [eraScored(number, stored)]);
      await audit.record(tx, {
        actor,
        action: 'target.upload',
        subject: `era:${number}`,
        details: { targets: stored.map(({ name, version, count }) => ({ target: name, version, count })), scored, run: run.latest, main: era.mainTarget },
      });
      return { stored, scored };
    });
  }

  return {
    /** Stores one target of a closed era as its next version and scores every current submission on it. */
    async uploadTarget(actor: Principal, number: number, name: string, body: TargetText) {
      const { stored, scored } = await storeAndScore(actor, number, body, name);
      const [{ version, count }] = stored;
      return { era: number, target: name, version, count, scored };
    },

    /** Stores several targets of a closed era (each its next version) and scores every current submission on all of them in one pass. */
    async uploadTargets(actor: Principal, number: number, body: TargetText) {
      const { stored, scored } = await storeAndScore(actor, number, body);
      return { era: number, targets: stored.map(({ name, version, count }) => ({ target: name, version, count })), scored };
    },

    /**
     * Scores one newly stored submission on the latest version of every stored target, if any:
     * a late submission arriving after a target upload, also after resolution (then for its
     * author's diagnostics only: late submissions are never paid, and resolution recorded the
     * era's results already). The era row lock (as an upload takes it) makes an upload in
     * flight either score the submission itself or commit before this reads the targets.
     */
    async scoreSubmission(number: number, submissionId: string): Promise<string[]> {
      return inTransaction(async (t) => {
        const era = await lockEra(t.tx, number, 'no key update');
        if (!era?.closedAt) return [];
        return rescoreTargets(t, era, submissionId);
      });
    },

    /**
     * Re-scores the latest version of every stored target of an era against its latest run,
     * inside the caller's transaction (a recompute's), which holds the era row FOR NO KEY
     * UPDATE or stronger. Earlier versions keep the scores they were given.
     */
    async rescoreEra(t: Tx, era: EraRow): Promise<string[]> {
      assertScorable(era);
      return rescoreTargets(t, era);
    },

    /**
     * Applies the payouts on the latest version of the main target to stakes once: the era row
     * lock serializes resolvers, a resolved era returns its result unchanged, and the ledger's
     * unique (model, era) index backs that up. The ledger applies payouts and burns, then releases
     * whose last awaited era this is; the era's results are recorded for performance and the
     * leaderboard, and its bundle is sealed and chained, all in this transaction.
     */
    async resolve(actor: Actor, number: number) {
      return db.transaction(async (tx) => {
        // NO KEY UPDATE: stake releases waiting for this era reference its row (KEY SHARE) while it resolves.
        const era = await lockEra(tx, number, 'no key update');
        if (!era) throw notFound(`era ${number} does not exist`);
        if (era.resolvedAt) return { era: number, status: 'resolved' as const, totalPayout: await ledger.eraTotal(tx, number) };
        const { main, payouts } = await resolvable(tx, era);
        const resolved = await markEraResolved(tx, number);
        const applied = await settlement.applyEraResolution(tx, number, payouts);
        await recordResolvedEra(tx, era);
        const chainDigest = await bundles.seal(tx, resolved);
        await emitEvents(tx, [eraResolved(number, applied.total, chainDigest)]);
        await audit.record(tx, {
          actor,
          action: 'era.resolve',
          subject: `era:${number}`,
          details: { target: era.mainTarget, version: main.version, models: payouts.length, totalPayout: applied.total },
        });
        return { era: number, status: 'resolved' as const, totalPayout: applied.total };
      });
    },

    /**
     * What resolving now would pay, computed as resolve computes it (the same paying rows, settled
     * by the same ledger plan against each model's balance) in a read-only snapshot: nothing is
     * written, locked or audited. 409 for an era that is resolved, not closed or without its main target.
     */
    async resolveDryRun(number: number) {
      return db.transaction(
        async (tx) => {
          const era = await findEra(tx, number);
          if (!era) throw notFound(`era ${number} does not exist`);
          if (era.resolvedAt) throw conflict(`era ${number} is already resolved; GET /v1/eras/${number}/scores shows what it paid`);
          const { payouts } = await resolvable(tx, era);
          const plan = await settlement.planEraResolution(tx, number, payouts);
          return {
            era: number,
            totalPayout: fromUnits(plan.total),
            models: payouts.map((p) => ({ modelId: p.modelId, name: p.name, stake: p.stake, corr: p.corr, mmc: p.mmc, payout: fromUnits(plan.settled.get(p.modelId)!) })),
          };
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
    },

    /** Every current submission's score on one target (the latest version unless one is named), and the traded meta-model's own CORR on it. */
    async eraScores(number: number, name?: string, version?: number) {
      const era = await erasService.get(number);
      const target = name ?? era.mainTarget;
      const stored = version === undefined ? await latestTarget(db, number, target) : await targetOfVersion(db, number, target, version);
      if (!stored) throw notFound(version === undefined ? `era ${number} has no target "${target}"` : `era ${number} has no version ${version} of target "${target}"`);
      const runValue = (await latestRun(db, number))?.value;
      // numerai_corr of the published value (NaN outside T) over the tradable ids with a target.
      const metaModelCorr = runValue ? numeraiCorr(decodeFloat64(runValue), decodeFloat64(stored.values)) : NaN;
      const scores = await scoresOnVersion(db, number, target, stored.version);
      return { era: number, target, version: stored.version, metaModelCorr: Number.isNaN(metaModelCorr) ? null : metaModelCorr, scores };
    },

    /**
     * One model's current scores across eras and targets, newest era first; owners and staff
     * only. With an era and a target, also that score's history across the target's versions.
     */
    async modelScores(who: Principal, modelId: string, focus?: { era: number; target: string }) {
      const model = await models.getReadable(modelId, who);
      const scores = await currentScoresOfModel(db, modelId);
      if (!focus) return { modelId, model: model.name, scores };
      const history = await scoreHistory(db, modelId, focus.era, focus.target);
      return { modelId, model: model.name, scores, era: focus.era, target: focus.target, history };
    },

    /** Performance over eras (docs/scoring-and-payouts.md) for one model and target, from the results resolution stored. */
    async performance(who: Principal, modelId: string, name?: string) {
      const model = await models.getReadable(modelId, who);
      const target = name ?? defaultTarget;
      const { rows, totalPayout, totalStake } = await modelResults(db, modelId, target);
      const values = (key: 'corr' | 'mmc') => rows.flatMap((row) => (row[key] === null ? [] : [row[key]]));
      return {
        modelId,
        model: model.name,
        target,
        eras: rows,
        corr: summarizeSeries(values('corr')),
        mmc: summarizeSeries(values('mmc')),
        payout: { total: totalPayout, return: payoutReturn(totalPayout, totalStake) },
      };
    },

    /** Reputation over the last `window` resolved eras (docs/scoring-and-payouts.md), from the results resolution stored. */
    async leaderboard(query: { target?: string; window?: number; limit: number; offset: number }) {
      const target = query.target ?? defaultTarget;
      const size = query.window ?? WINDOW.default;
      if (!Number.isInteger(size) || size < WINDOW.min || size > WINDOW.max) {
        throw badRequest(`window must be a whole number of resolved eras from ${WINDOW.min} to ${WINDOW.max} (default ${WINDOW.default})`);
      }
      const { window, ranked } = await ranking(target, size);
      const rows = ranked.slice(query.offset, query.offset + query.limit);
      const total = ranked.length;
      // Ties are broken by name, so a rank is a position.
      return { target, window: size, eras: window, total, rows: rows.map((row, i) => ({ rank: query.offset + i + 1, ...row })) };
    },
  };

}

export type ScoringService = ReturnType<typeof scoringService>;
