import { tieKeptRank } from './rank.js';
import type { UniverseRow } from './universe.js';
import { nameRecord } from './records.js';

/** No published exposure rests on fewer ids than this (the report's anonymity floor, as for sectors). */
export const MIN_EXPOSURE_IDS = 5;

/** What a book leans into for one attribute or tag (docs/reports.md, exposures). */
export interface Exposure {
  /** weighted mean of the attribute over the long leg's covered ids; null when fewer than 5 */
  long: number | null;
  /** the same over the short leg, weights |w| */
  short: number | null;
  /** Σ w·a / Σ |w| over the covered ids */
  net: number | null;
  /** share of the book's gross weight on ids with the attribute */
  coverage: number;
  /** plain mean of the attribute over the universe's ids that have it */
  universe: number;
}

export interface SignalExposures {
  attributes: Record<string, Exposure>;
  tags: Record<string, Exposure>;
}

/**
 * The dollar-neutral book of a signal: r = tie-kept rank over the ids with a value,
 * w = (r − mean r) / Σ |r − mean r| (gross 1); NaN where the signal has none.
 */
export function bookWeights(signal: ArrayLike<number>): Float64Array {
  const r = tieKeptRank(signal);
  let count = 0;
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    if (Number.isNaN(r[i])) continue;
    count++;
    sum += r[i];
  }
  const mean = sum / count;
  let gross = 0;
  for (let i = 0; i < r.length; i++) if (!Number.isNaN(r[i])) gross += Math.abs(r[i] - mean);
  const w = new Float64Array(r.length);
  for (let i = 0; i < r.length; i++) w[i] = Number.isNaN(r[i]) ? NaN : gross === 0 ? 0 : (r[i] - mean) / gross;
  return w;
}

/** The universe as exposures read it: each numeric attribute (NaN where an id lacks it) and each tag (1 or 0) with at least 5 ids. */
export interface ExposureFeatures {
  attributes: [name: string, values: Float64Array][];
  tags: [tag: string, values: Float64Array][];
}

/** One pass over the universe; computed once and used for every signal of the era. */
export function exposureFeatures(universe: readonly UniverseRow[], minIds = MIN_EXPOSURE_IDS): ExposureFeatures {
  const n = universe.length;
  const attributes = new Map<string, { values: Float64Array; ids: number }>();
  const tags = new Map<string, { values: Float64Array; ids: number }>();
  const slot = (map: Map<string, { values: Float64Array; ids: number }>, name: string, fill: number) => {
    let entry = map.get(name);
    if (entry === undefined) map.set(name, (entry = { values: new Float64Array(n).fill(fill), ids: 0 }));
    return entry;
  };
  for (let i = 0; i < n; i++) {
    const row = universe[i];
    for (const name of Object.keys(row.attributes)) {
      const v = row.attributes[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const entry = slot(attributes, name, NaN);
      entry.values[i] = v;
      entry.ids++;
    }
    for (const tag of row.tags) {
      const entry = slot(tags, tag, 0);
      if (entry.values[i] === 1) continue;
      entry.values[i] = 1;
      entry.ids++;
    }
  }
  // Every id is covered for a tag, so the floor applies to its carriers: a tag on a handful of ids would point at them.
  const kept = (map: Map<string, { values: Float64Array; ids: number }>) =>
    [...map]
      .filter(([, e]) => e.ids >= minIds)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, e]): [string, Float64Array] => [name, e.values]);
  return { attributes: kept(attributes), tags: kept(tags) };
}

/** Exposure of book weights w to one attribute a (NaN = not covered); null when fewer than 5 ids of the universe have it. */
export function exposureTo(w: Float64Array, a: Float64Array, minIds = MIN_EXPOSURE_IDS): Exposure | null {
  let universeIds = 0;
  let universeSum = 0;
  let longW = 0;
  let longWA = 0;
  let longIds = 0;
  let shortW = 0;
  let shortWA = 0;
  let shortIds = 0;
  let netWA = 0;
  let gross = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) continue;
    universeIds++;
    universeSum += a[i];
    const wi = w[i];
    if (Number.isNaN(wi)) continue;
    netWA += wi * a[i];
    gross += Math.abs(wi);
    if (wi > 0) {
      longW += wi;
      longWA += wi * a[i];
      longIds++;
    } else if (wi < 0) {
      shortW -= wi;
      shortWA -= wi * a[i];
      shortIds++;
    }
  }
  if (universeIds < minIds) return null;
  return {
    long: longIds < minIds || longW === 0 ? null : longWA / longW,
    short: shortIds < minIds || shortW === 0 ? null : shortWA / shortW,
    net: gross === 0 ? null : netWA / gross,
    coverage: gross,
    universe: universeSum / universeIds,
  };
}

/**
 * Exposures of a signal (NaN where it has no value) to every numeric attribute and every tag of
 * the universe (exposureFeatures). A tag is the attribute 1 if the id carries it, else 0; tags
 * carried by fewer than 5 ids and attributes fewer than 5 ids have are left out, as are legs of
 * fewer than 5 ids.
 */
export function signalExposures(signal: ArrayLike<number>, features: ExposureFeatures): SignalExposures {
  const w = bookWeights(signal);
  const of = (list: [string, Float64Array][]) => {
    const out = nameRecord<Exposure>();
    for (const [name, a] of list) {
      if (a.length !== w.length) throw new RangeError(`signal has ${w.length} values but the universe ${a.length} ids`);
      const exposure = exposureTo(w, a);
      if (exposure !== null) out[name] = exposure;
    }
    return out;
  };
  return { attributes: of(features.attributes), tags: of(features.tags) };
}
