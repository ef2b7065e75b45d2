import { exposuresOf } from '../era-report.js';
import type { UniverseRow } from '../universe.js';
import { leaveOneOutValues, policyCost } from './cost.js';
import { sectorTurnover, type EraPolicyEffect } from './preview.js';
import type { PolicyDocument } from './schema.js';

/** The unconstrained meta-model a preview applies a version to, and where it came from. */
export interface PreviewSignal {
  era: number;
  /** the closed era's latest run; null for an open era */
  run: { id: string; seq: number } | null;
  /** an open era: how many models its provisional meta-model has */
  provisional: { models: number } | null;
  unconstrained: Float64Array;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * One era of a preview: the version's effect on the era's signal, its cost on every target the era
 * has, and turnover against `previous` (the closest earlier era with a run, under the same version).
 */
export function eraPreview(
  document: PolicyDocument,
  signal: PreviewSignal,
  universe: readonly UniverseRow[],
  effect: EraPolicyEffect,
  previous: { era: number; effect: EraPolicyEffect } | null,
  targets: readonly { name: string; values: Float64Array }[],
) {
  const { sectorExposure, unconstrainedExposure, sectorTilt, spearman, value, conflict, ...counts } = effect;
  const withoutEach = targets.length === 0 ? [] : leaveOneOutValues(document, universe, signal.unconstrained);
  return {
    era: signal.era,
    run: signal.run,
    provisional: signal.provisional,
    ...counts,
    sectorTilt: sectorTilt.map((s) => ({ ...s, before: finiteOrNull(s.before), after: finiteOrNull(s.after) })),
    spearman: finiteOrNull(spearman),
    conflict: conflict === null ? null : { parts: conflict.parts, message: conflict.message },
    exposures: (({ unconstrained, traded }) => ({ before: unconstrained, after: traded }))(exposuresOf(signal.unconstrained, value, universe)),
    performanceCost: targets.map((t) => ({ target: t.name, ...policyCost(signal.unconstrained, value, withoutEach, t.values) })),
    turnover:
      previous === null
        ? null
        : {
            previousEra: previous.era,
            sector: sectorTurnover(sectorExposure, previous.effect.sectorExposure),
            sectorUnconstrained: sectorTurnover(unconstrainedExposure, previous.effect.unconstrainedExposure),
            excludedShareChange: effect.excluded.share - previous.effect.excluded.share,
          },
  };
}
