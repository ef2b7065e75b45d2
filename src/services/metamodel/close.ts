import { performance } from 'node:perf_hooks';
import { inClientTransaction } from '../../db/client.js';
import * as erasDal from '../../db/eras.js';
import { emitEvents } from '../../db/events.js';
import * as ledger from '../../db/ledger.js';
import * as runsDal from '../../db/runs.js';
import type { RunSummary } from '../../db/runs.js';
import { eraClosed } from '../../domain/events.js';
import { conflict, notFound } from '../../errors.js';
import { type Actor, SCHEDULER } from '../audit.js';
import type { EraRow } from '../eras.js';
import { computeRun, policyInForce, streamedMetaModel } from './compute.js';
import type { MetaModelDeps } from './deps.js';

export interface CloseResult {
  era: EraRow;
  run: RunSummary;
  /** true when this call closed the era, false when it was already closed */
  closedNow: boolean;
}

/**
 * Closes an era once: the row lock serializes closers and waits for in-flight submissions,
 * and whoever finds closed_at set returns the closing run. `skipIfBusy` (the scheduler)
 * returns null instead of queueing behind another replica that is closing the same era.
 */
export async function closeEra(
  deps: Pick<MetaModelDeps, 'db' | 'audit' | 'eras' | 'reportFigures'>,
  actor: Actor,
  number: number,
  skipIfBusy: boolean,
): Promise<CloseResult | null> {
  return inClientTransaction(deps.db, async (t) => {
    const { tx } = t;
    if (skipIfBusy && !(await erasDal.tryLockClose(tx, number))) return null;
    // The stake lock first, then the era row: a stake change holds the stake lock (shared) when its release's
    // foreign key locks an era row, so taking them the other way round here would deadlock with a lowering after
    // closesAt. The cutoff is stamped inside the stake lock, which waits for stake changes in flight and keeps new
    // ones out until this commits: every ledger entry stamped at or before closedAt is in the snapshot, every
    // later one is not. A scheduler that closes late still cuts off at closesAt, as submissions do.
    await ledger.lockStakes(tx);
    const locked = await erasDal.lockEra(tx, number, 'update');
    if (!locked) throw notFound(`era ${number} does not exist`);
    if (locked.closedAt) {
      const [run] = await runsDal.runSummaries(tx, { era: number, seq: 1 });
      return { era: locked, run, closedNow: false };
    }
    if (!locked.universeDigest) throw conflict(`era ${number} has no universe; set it before closing`);

    const started = performance.now();
    const era = await erasDal.markClosed(tx, number);
    const policy = await policyInForce(tx, era);
    const runId = await runsDal.insertRun(tx, { era: number, seq: 1, trigger: 'close', policyId: policy?.id ?? null, actorId: actor.accountId });
    await ledger.snapshotAtRisk(tx, number, runId);
    await computeRun(deps, t, { era, runId, policy, started });
    const [run] = await runsDal.runSummaries(tx, { runId });
    await deps.audit.record(tx, {
      actor,
      action: 'era.close',
      subject: `era:${number}`,
      details: { closedAt: era.closedAt, run: run.id, models: run.models, totalStake: run.totalStake, by: actor === SCHEDULER ? 'scheduler' : 'request' },
    });
    await emitEvents(tx, [eraClosed(era, run)]);
    return { era, run, closedNow: true };
  });
}

/**
 * A new run from the closing run's inputs (the at-risk set is fixed at close): picks up a
 * corrected policy or universe, never new stakes or submissions. Stored targets are
 * re-scored against it in the same transaction, so scores never point at a superseded run.
 */
export async function recompute(deps: MetaModelDeps, actor: Actor, number: number): Promise<RunSummary> {
  return inClientTransaction(deps.db, async (t) => {
    const { tx } = t;
    // NO KEY UPDATE, as a target upload takes it: waits for a close in progress, keeps the era from resolving and
    // uploads out while targets are re-scored, without blocking late submissions (KEY SHARE).
    const era = await erasDal.lockEra(tx, number, 'no key update');
    if (!era) throw notFound(`era ${number} does not exist`);
    if (!era.closedAt) throw conflict(`era ${number} is not closed yet; close it first`);
    if (era.resolvedAt) throw conflict(`era ${number} is resolved; its payouts used the current run, which stays final`);
    await runsDal.lockRuns(tx, number);

    const started = performance.now();
    const { closingRun, nextSeq } = await runsDal.closingRunAndNextSeq(tx, number);
    const policy = await policyInForce(tx, era);
    const runId = await runsDal.insertRun(tx, { era: number, seq: nextSeq, trigger: 'recompute', policyId: policy?.id ?? null, actorId: actor.accountId });
    await runsDal.copyRunInputs(tx, number, closingRun, runId);
    await computeRun(deps, t, { era, runId, policy, started });
    const [run] = await runsDal.runSummaries(tx, { runId });
    const rescored = await deps.rescoreEra(t, era);
    await deps.audit.record(tx, {
      actor,
      action: 'metamodel.recompute',
      subject: `era:${number}`,
      details: { run: run.id, seq: run.seq, policy: run.policy, models: run.models, totalStake: run.totalStake, rescored },
    });
    return run;
  });
}

/**
 * M of an open era from what a close would take now: each model's current on-time submission and
 * its stake now (the latest history entry), if positive. Nothing is stored.
 */
export async function openEraMetaModel(deps: Pick<MetaModelDeps, 'db' | 'eras'>, number: number): Promise<{ unconstrained: Float64Array; models: number }> {
  return inClientTransaction(deps.db, async ({ client, tx }) => {
    // One snapshot for both reads, so the stakes and the streamed submissions are the same models.
    await runsDal.repeatableRead(tx);
    const era = await deps.eras.get(number);
    const stakes = await runsDal.openEraStakes(tx, number);
    const { unconstrained, byDecile } = await streamedMetaModel(client, { openEra: number }, era.universeSize, stakes);
    return { unconstrained, models: byDecile.models };
  });
}
