import { latestResolvedEras } from '../../db/eras.js';
import { latestRun, previousEraWithRun } from '../../db/runs.js';
import { latestTarget, latestTargets } from '../../db/targets.js';
import { eraPreview, type PreviewSignal } from '../../domain/policy/era-preview.js';
import { policyEffect, type EraPolicyEffect } from '../../domain/policy/preview.js';
import { replayEra, replaySummary, type ReplayedEra } from '../../domain/policy/replay.js';
import { conflictWarnings, policyWarnings, universeVocabulary, type PolicyWarning } from '../../domain/policy/warnings.js';
import { decodeFloat64 } from '../../domain/packed.js';
import type { UniverseRow } from '../../domain/universe.js';
import { conflict, notFound } from '../../errors.js';
import type { PoliciesDeps } from './deps.js';
import { getPolicy, policyRef } from './read.js';
import { eraSignal } from './signal.js';

/**
 * What a version (enforced, also when its mode is shadow) would have cost on each of the last
 * `lastEras` resolved eras, oldest first: on the era's latest run (the one its report costs) and
 * the latest version of its main target. An era missing its run or main target is skipped.
 */
export async function replay(deps: Pick<PoliciesDeps, 'db' | 'eras'>, id: string, lastEras: number) {
  const { db, eras } = deps;
  const policy = await getPolicy(db, id);
  const resolved = await latestResolvedEras(db, lastEras);
  const replayed: ReplayedEra[] = [];
  for (const era of resolved.reverse()) {
    const run = await latestRun(db, era.number);
    const target = await latestTarget(db, era.number, era.mainTarget);
    if (run === null || target === undefined) continue;
    const universe = await eras.universeRows(era.number);
    replayed.push(replayEra(policy.document, { number: era.number, target: era.mainTarget }, universe, decodeFloat64(run.unconstrained), decodeFloat64(target.values)));
  }
  return { policy: policyRef(policy), eras: replayed, summary: replaySummary(replayed) };
}

/** The signals of the eras asked for; 404 naming unknown eras, 409 naming those without a signal yet. */
async function signalsOf(deps: Pick<PoliciesDeps, 'db' | 'eras' | 'openEraMetaModel'>, eraNumbers: readonly number[]): Promise<PreviewSignal[]> {
  const signals: PreviewSignal[] = [];
  const unknown: number[] = [];
  const notReady: string[] = [];
  for (const number of eraNumbers) {
    const signal = await eraSignal(deps, number);
    if ('missing' in signal) unknown.push(number);
    else if ('problem' in signal) notReady.push(signal.problem);
    else signals.push(signal);
  }
  if (unknown.length > 0) throw notFound(`no era ${unknown.join(', ')}: preview needs existing eras that are open or closed`);
  if (notReady.length > 0) throw conflict(notReady.join('; '));
  return signals;
}

/**
 * Dry-runs a version (enforced even when its mode is shadow) on eras: a closed era on the
 * unconstrained meta-model of its latest run, an open one on the submissions and stakes so far.
 * Turnover compares with the closest earlier era that has a run, under the same version; the
 * cost of the policy is given on every target the era has.
 */
export async function preview(deps: Pick<PoliciesDeps, 'db' | 'eras' | 'openEraMetaModel'>, id: string, eraNumbers: readonly number[]) {
  const { db, eras } = deps;
  const policy = await getPolicy(db, id);
  const signals = await signalsOf(deps, eraNumbers);
  // Each era's effect is computed once: an era may be both previewed and the one before another.
  const effects = new Map<number, EraPolicyEffect>();
  const effectOn = (number: number, universe: UniverseRow[], unconstrained: Float64Array): EraPolicyEffect => {
    const effect = effects.get(number) ?? policyEffect(policy.document, universe, unconstrained);
    effects.set(number, effect);
    return effect;
  };
  const universes: { era: number; rows: UniverseRow[] }[] = [];
  const results = [];
  for (const signal of signals) {
    const universe = await eras.universeRows(signal.era);
    universes.push({ era: signal.era, rows: universe });
    const effect = effectOn(signal.era, universe, signal.unconstrained);
    const before = await previousEffect(deps, signal.era, effectOn);
    const targets = (await latestTargets(db, signal.era)).map((t) => ({ name: t.name, values: decodeFloat64(t.values) }));
    results.push(eraPreview(policy.document, signal, universe, effect, before, targets));
  }
  const warnings: PolicyWarning[] = [
    ...policyWarnings(policy.document, universeVocabulary(universes)),
    ...conflictWarnings(results.map((r) => ({ era: r.era, conflict: effects.get(r.era)!.conflict }))),
  ];
  return { policy: { id: policy.id, name: policy.name, version: policy.version, mode: policy.mode }, warnings, eras: results };
}

/** The effect on the closest earlier era with a run, for turnover; null when there is none. */
async function previousEffect(
  deps: Pick<PoliciesDeps, 'db' | 'eras'>,
  era: number,
  effectOn: (number: number, universe: UniverseRow[], unconstrained: Float64Array) => EraPolicyEffect,
): Promise<{ era: number; effect: EraPolicyEffect } | null> {
  const previous = await previousEraWithRun(deps.db, era);
  if (previous === null) return null;
  const run = await latestRun(deps.db, previous);
  if (run === null) return null;
  return { era: previous, effect: effectOn(previous, await deps.eras.universeRows(previous), decodeFloat64(run.unconstrained)) };
}
