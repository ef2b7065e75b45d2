import type { Executor } from '../db/client.js';
import { findEra, lockEra, markEraResolved } from '../db/eras.js';
import { emitEvents } from '../db/events.js';
import * as ledger from '../db/ledger.js';
import * as settlement from './settlement.js';
import { recordResolvedEra } from '../db/results.js';
import { eraPayouts } from '../db/scores.js';
import { latestTarget } from '../db/targets.js';
import { fromUnits } from '../domain/decimal.js';
import { eraResolved } from '../domain/events.js';
import { conflict, notFound } from '../errors.js';
import type { Actor } from './audit.js';
import type { EraRow } from './eras.js';
import { transaction, type ScoringDeps } from './scoring-deps.js';

export type ResolutionDeps = Pick<ScoringDeps, 'db' | 'audit' | 'bundles'>;

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

/**
 * Applies the payouts on the latest version of the main target to stakes once: the era row
 * lock serializes resolvers, a resolved era returns its result unchanged, and the ledger's
 * unique (model, era) index backs that up. The ledger applies payouts and burns, then releases
 * whose last awaited era this is; the era's results are recorded for performance and the
 * leaderboard, and its bundle is sealed and chained, all in this transaction.
 */
export function resolve(deps: ResolutionDeps, actor: Actor, number: number) {
  return transaction(deps, async ({ tx }) => {
    // NO KEY UPDATE: stake releases waiting for this era reference its row (KEY SHARE) while it resolves.
    const era = await lockEra(tx, number, 'no key update');
    if (!era) throw notFound(`era ${number} does not exist`);
    if (era.resolvedAt) return { era: number, status: 'resolved' as const, totalPayout: await ledger.eraTotal(tx, number) };
    const { main, payouts } = await resolvable(tx, era);
    const resolved = await markEraResolved(tx, number);
    const applied = await settlement.applyEraResolution(tx, number, payouts);
    await recordResolvedEra(tx, era);
    const chainDigest = await deps.bundles.seal(tx, resolved);
    await emitEvents(tx, [eraResolved(number, applied.total, chainDigest)]);
    await deps.audit.record(tx, {
      actor,
      action: 'era.resolve',
      subject: `era:${number}`,
      details: { target: era.mainTarget, version: main.version, models: payouts.length, totalPayout: applied.total },
    });
    return { era: number, status: 'resolved' as const, totalPayout: applied.total };
  });
}

/**
 * What resolving now would pay, computed as resolve computes it (the same paying rows, settled
 * by the same ledger plan against each model's balance) in a read-only snapshot: nothing is
 * written, locked or audited. 409 for an era that is resolved, not closed or without its main target.
 */
export function resolveDryRun(deps: Pick<ScoringDeps, 'db'>, number: number) {
  return transaction(
    deps,
    async ({ tx }) => {
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
    { readOnlySnapshot: true },
  );
}
