import { type LiveUniverse, type UniverseAligner, alignerMessages, describeJson } from './aligned.js';
import {
  type IdValueLayout,
  type IngestBody,
  alignIdValueColumns,
  alignIdValueCsv,
  emptyBody,
  invalidShape,
  isRecord,
  structureMessages,
} from './id-value.js';
import { ProblemCollector } from './problems.js';

export interface ParsedTarget {
  /** One value per universe id, in universe order; NaN where the body has none. */
  aligned: Float64Array;
  count: number;
}

const TARGET: IdValueLayout = {
  body: 'a target upload',
  valueColumns: ['target'],
  valuesKey: 'values',
  rule: { noun: 'target value', min: 0, max: 1, rangeLabel: '[0, 1]' },
};

/**
 * Validates one target's values for an era: CSV `id,target` or JSON `{ids, values}`, every
 * value finite and in [0, 1] (no tolerance: targets come from us, not from float noise),
 * ids in the universe and unique, at least one row. Ids without a row stay NaN.
 */
export function parseTarget(body: IngestBody, universe: LiveUniverse, opts: { era?: number } = {}): ParsedTarget {
  const problems = new ProblemCollector(body.kind === 'csv' ? 'lines' : 'indexes');
  const aligner =
    body.kind === 'csv'
      ? alignIdValueCsv(body.text, universe, TARGET, problems)
      : alignTargetJson(body.value, universe, problems);
  aligner?.finish();
  problems.throwIfAny({ ...alignerMessages(TARGET.rule, opts.era, aligner), ...structureMessages(TARGET) });
  // Every rule passed, so the aligner exists.
  const { aligned, rows } = aligner as UniverseAligner;
  return { aligned, count: rows };
}

function alignTargetJson(value: unknown, universe: LiveUniverse, problems: ProblemCollector): UniverseAligner | undefined {
  if (value === undefined) problems.add(emptyBody('the body is empty'));
  else if (isRecord(value) && ('ids' in value || 'values' in value)) return alignIdValueColumns(value, universe, TARGET, problems);
  else problems.add(invalidShape(`the body is ${describeJson(value)}`, TARGET));
  return undefined;
}
