import { lockEra } from '../db/eras.js';
import { emitEvents } from '../db/events.js';
import { scoringRuns } from '../db/runs.js';
import { storeTargetVersions } from '../db/targets.js';
import { eraScored } from '../domain/events.js';
import { encodeFloat64 } from '../domain/packed.js';
import { conflict } from '../errors.js';
import type { ParsedNamedTarget, TargetText } from '../ingest/target.js';
import type { Principal } from './accounts.js';
import type { EraRow } from './eras.js';
import { scoreTargets } from './scoring-pass.js';
import { transaction, type ScoringDeps } from './scoring-deps.js';

export type TargetUploadDeps = Pick<ScoringDeps, 'db' | 'audit' | 'eras' | 'reportFigures' | 'preparer' | 'maxTargetColumns'>;

/** 409 unless the era is closed and not resolved. */
export function assertScorable(era: EraRow): void {
  if (era.resolvedAt) throw conflict(`era ${era.number} is resolved; its targets are final and take no new version`);
  if (!era.closedAt) throw conflict(`era ${era.number} is not closed yet; scoring needs its traded meta-model, close the era first`);
}

/** Parses an upload against the era's universe, outside any transaction (on a worker when large). */
async function parseUpload(deps: TargetUploadDeps, number: number, body: TargetText, name?: string) {
  const era = await deps.eras.get(number);
  assertScorable(era);
  const universe = await deps.eras.universeIndex(era);
  const parsed: ParsedNamedTarget[] = await deps.preparer.parseTargets(body, universe, {
    era: era.number,
    maxColumns: deps.maxTargetColumns,
    mainTarget: era.mainTarget,
    name,
  });
  return { parsed, digest: universe.digest };
}

/**
 * Stores each parsed target as a new version and scores every current submission on all of
 * them in one pass, in one transaction. The era row lock (NO KEY UPDATE: late submissions
 * still arrive) serializes uploads with each other and with resolution.
 */
async function storeAndScore(deps: TargetUploadDeps, actor: Principal, number: number, body: TargetText, name?: string) {
  const { parsed, digest } = await parseUpload(deps, number, body, name);
  return transaction(deps, async (t) => {
    const era = (await lockEra(t.tx, number, 'no key update'))!;
    assertScorable(era);
    if (era.universeDigest !== digest) throw conflict(`era ${number}'s universe changed while the targets were checked; upload them again`);
    const run = await scoringRuns(t.tx, number);
    if (!run) throw conflict(`era ${number} has no meta-model run; scoring needs the traded meta-model`);
    const uploads = parsed.map((target) => ({ name: target.name, values: encodeFloat64(target.aligned), count: target.count }));
    const stored = await storeTargetVersions(t.tx, number, uploads, actor.accountId);
    const set = parsed.map((target, j) => ({ name: target.name, version: stored[j].version, values: target.aligned }));
    const scored = await scoreTargets(t, era, set, run);
    // The cost of the policy on each new version, stored with the era's report figures.
    await deps.reportFigures.afterTargets(t.tx, number, set);
    await emitEvents(t.tx, [eraScored(number, stored)]);
    await deps.audit.record(t.tx, {
      actor,
      action: 'target.upload',
      subject: `era:${number}`,
      details: { targets: stored.map(({ name, version, count }) => ({ target: name, version, count })), scored, run: run.latest, main: era.mainTarget },
    });
    return { stored, scored };
  });
}

/** Uploading targets: each column a new version, every current submission scored on all of them in one pass. */
export function targetUploads(deps: TargetUploadDeps) {
  return {
    /** Stores one target of a closed era as its next version and scores every current submission on it. */
    async uploadTarget(actor: Principal, number: number, name: string, body: TargetText) {
      const { stored, scored } = await storeAndScore(deps, actor, number, body, name);
      const [{ version, count }] = stored;
      return { era: number, target: name, version, count, scored };
    },

    /** Stores several targets of a closed era (each its next version) and scores every current submission on all of them in one pass. */
    async uploadTargets(actor: Principal, number: number, body: TargetText) {
      const { stored, scored } = await storeAndScore(deps, actor, number, body);
      return { era: number, targets: stored.map(({ name, version, count }) => ({ target: name, version, count })), scored };
    },
  };
}
