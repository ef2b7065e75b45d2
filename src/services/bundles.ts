import type { Database, Executor } from '../db/client.js';
import { bundleModels, bundleRun, bundleTargets, insertBundle, lockChainHead, storedBundle } from '../db/bundles.js';
import { jsonVector, sealBundle, type BundleContent } from '../domain/bundle.js';
import { canonicalJson, GENESIS, sha256Hex } from '../domain/chain.js';
import { decodeFloat64 } from '../domain/packed.js';
import { stakeScale } from '../domain/scoring.js';
import { conflict, notFound } from '../errors.js';
import { payoutParams } from '../domain/era.js';
import type { EraRow, ErasService } from './eras.js';

export function bundlesService(deps: { db: Database; eras: ErasService }) {
  const { db, eras: erasService } = deps;

  /** The bundle of a resolved era, recomputed from the stored run, stakes, scores and targets. */
  async function build(executor: Executor, era: EraRow): Promise<BundleContent> {
    if (!era.closedAt || !era.resolvedAt) throw new Error(`era ${era.number} is not resolved; it has no bundle`);
    const universe = await erasService.universeIndex(era, executor);
    const run = await bundleRun(executor, era.number);
    if (!run) throw new Error(`era ${era.number} has no meta-model run`);
    const { models, totalAtRisk } = await bundleModels(executor, era.number, era.mainTarget);
    const stored = await bundleTargets(executor, era.number);
    const payout = payoutParams(era);
    return {
      era: era.number,
      closedAt: era.closedAt.toISOString(),
      resolvedAt: era.resolvedAt.toISOString(),
      mainTarget: era.mainTarget,
      policy:
        run.policyName === null || run.policyVersion === null
          ? null
          : { name: run.policyName, version: run.policyVersion, sha256: sha256Hex(canonicalJson(run.policyDocument)) },
      payout,
      payoutFactor: stakeScale(payout.stakeThreshold, Number(totalAtRisk)),
      totalAtRisk,
      ids: universe.ids,
      value: jsonVector(decodeFloat64(run.value)),
      unconstrained: jsonVector(decodeFloat64(run.unconstrained)),
      targets: Object.fromEntries(stored.map((t) => [t.name, jsonVector(decodeFloat64(t.values))])),
      models,
    };
  }

  return {
    build,

    /**
     * Builds, seals and stores the bundle of an era resolving in the caller's transaction, as the
     * next link of the chain; the chain lock is held until that transaction commits.
     */
    async seal(tx: Executor, era: EraRow): Promise<string> {
      const content = await build(tx, era);
      const head = await lockChainHead(tx);
      const { bundle, bytes } = sealBundle(content, head?.chainDigest ?? GENESIS);
      await insertBundle(tx, {
        eraNumber: era.number,
        position: (head?.position ?? 0) + 1,
        content: bytes,
        digest: bundle.digest,
        previousChainDigest: bundle.previousChainDigest,
        chainDigest: bundle.chainDigest,
      });
      return bundle.chainDigest;
    },

    /** The stored bytes of a resolved era's bundle, exactly as sealed. */
    async served(number: number): Promise<Buffer> {
      const era = await erasService.get(number);
      const bytes = await storedBundle(db, number);
      if (bytes) return bytes;
      if (!era.resolvedAt) throw conflict(`era ${number} is not resolved yet; its bundle is fixed when it resolves (POST /v1/eras/${number}/resolve)`);
      throw notFound(`era ${number} was resolved before bundles were kept; it has none`);
    },
  };
}

export type BundlesService = ReturnType<typeof bundlesService>;
