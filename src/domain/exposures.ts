import { tieKeptRank } from './rank.js';
import type { UniverseRow } from './universe.js';

/** No published exposure rests on fewer ids than this (the report's anonymity floor, as for sectors). */
export const MIN_EXPOSURE_IDS = 5;

/** What a book leans into for one attribute or tag (DESIGN section 2 step 11). */
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

/** A numeric attribute's values per id (NaN where an id lacks it or holds a string); null when no id has a number. */
export function numericAttribute(universe: readonly UniverseRow[], name: string): Float64Array | null {
  const values = new Float64Array(universe.length);
  let any = false;
  universe.forEach((row, i) => {
    const v = Object.hasOwn(row.attributes, name) ? row.attributes[name] : undefined;
    values[i] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
    if (!Number.isNaN(values[i])) any = true;
  });
  return any ? values : null;
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
 * the universe. A tag is the attribute 1 if the id carries it, else 0; tags carried by fewer
 * than 5 ids and attributes fewer than 5 ids have are left out, as are legs of fewer than 5 ids.
 */
export function signalExposures(signal: ArrayLike<number>, universe: readonly UniverseRow[]): SignalExposures {
  if (signal.length !== universe.length) throw new RangeError(`signal has ${signal.length} values but the universe ${universe.length} ids`);
  const w = bookWeights(signal);
  const attributes: Record<string, Exposure> = {};
  for (const name of attributeNames(universe)) {
    const a = numericAttribute(universe, name);
    const exposure = a === null ? null : exposureTo(w, a);
    if (exposure !== null) attributes[name] = exposure;
  }
  const tags: Record<string, Exposure> = {};
  for (const [tag, carriers] of tagCarriers(universe)) {
    if (carriers < MIN_EXPOSURE_IDS) continue;
    const a = Float64Array.from(universe, (row) => (row.tags.includes(tag) ? 1 : 0));
    // Every id is covered, so the floor applies to carriers: a tag on a handful of ids would point at them.
    const exposure = exposureTo(w, a);
    if (exposure !== null) tags[tag] = exposure;
  }
  return { attributes, tags };
}

export function attributeNames(universe: readonly UniverseRow[]): string[] {
  const names = new Set<string>();
  for (const row of universe) for (const name of Object.keys(row.attributes)) names.add(name);
  return [...names].sort();
}

/** Each tag with the number of ids carrying it, by tag. */
export function tagCarriers(universe: readonly UniverseRow[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of universe) for (const tag of new Set(row.tags)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
