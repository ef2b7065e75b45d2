import type { RunFigures } from './era-report.js';
import { decodeCursor, encodeCursor, ERA_PAGE, eraCursor } from './page-cursor.js';
import type { PolicyCost } from './policy/cost.js';
import { nameRecord, own } from './records.js';
import { change } from './report.js';

/** The net exposure of one attribute or tag, before and after the policy. */
export interface NetPair {
  unconstrained: number | null;
  traded: number | null;
}

/** One closed era in the summary: the headline figures, what each target says, and exposures as nets. */
export interface StoredPoint {
  era: number;
  closedAt: string;
  universeSize: number;
  tradable: number;
  excludedShare: number;
  observedShare: number;
  policy: { name: string; version: number; mode: 'enforce' | 'shadow' } | null;
  policyCost: number | null;
  stake: RunFigures['stake'];
  metaModelCorr: Record<string, number | null>;
  performanceCost: Record<string, { unconstrained: number | null; traded: number | null; cost: number | null }>;
  exposures: { attributes: Record<string, NetPair>; tags: Record<string, NetPair> };
}

/** An era's summary point from its latest run's figures and its stored costs per target (in target order). */
export function storedPoint(
  era: number,
  closedAt: Date,
  figures: RunFigures,
  costs: readonly (Pick<PolicyCost, 'unconstrained' | 'traded' | 'cost'> & { target: string })[],
): StoredPoint {
  const nets = (kind: 'attributes' | 'tags') => {
    const out = nameRecord<NetPair>();
    const names = new Set([...Object.keys(figures.exposures.unconstrained[kind]), ...Object.keys(figures.exposures.traded[kind])]);
    for (const name of [...names].sort()) {
      out[name] = { unconstrained: own(figures.exposures.unconstrained[kind], name)?.net ?? null, traded: own(figures.exposures.traded[kind], name)?.net ?? null };
    }
    return out;
  };
  return {
    era,
    closedAt: closedAt.toISOString(),
    universeSize: figures.universeSize,
    tradable: figures.tradable,
    excludedShare: figures.excluded.share,
    observedShare: figures.observed.share,
    policy: figures.policy === null ? null : { name: figures.policy.name, version: figures.policy.version, mode: figures.policy.mode },
    policyCost: figures.policyCost,
    stake: figures.stake,
    metaModelCorr: nameRecord(costs.map((c) => [c.target, c.traded])),
    performanceCost: nameRecord(costs.map((c) => [c.target, { unconstrained: c.unconstrained, traded: c.traded, cost: c.cost }])),
    exposures: { attributes: nets('attributes'), tags: nets('tags') },
  };
}

export interface SummaryPoint extends Omit<StoredPoint, 'closedAt'> {
  closedAt: Date;
  /** the same number as the deprecated `policyCost` (a Spearman correlation, not a CORR difference), named for what it is */
  policySpearman: number | null;
  /** the era's link in the chain of resolved eras' bundles; null until it resolves */
  chainDigest: string | null;
  /** this era minus the previous closed era; null for the first */
  change: {
    universeSize: number;
    tradable: number;
    excludedShare: number;
    observedShare: number;
    policyCost: number | null;
    policySpearman: number | null;
    models: number;
    totalStake: string;
    gini: number | null;
    nakamoto50: number;
    effectiveModels: number;
    top10Share: number | null;
    /** targets both eras have */
    metaModelCorr: Record<string, number | null>;
  } | null;
}

/** Point `b` minus the previous closed era's point `a`; `totalStake` is the exact difference, computed in numeric. */
export function pointChange(a: SummaryPoint, b: SummaryPoint, totalStake: string): NonNullable<SummaryPoint['change']> {
  const corr = nameRecord<number | null>();
  for (const target of Object.keys(b.metaModelCorr)) {
    if (Object.hasOwn(a.metaModelCorr, target)) corr[target] = change(a.metaModelCorr[target], b.metaModelCorr[target]);
  }
  return {
    universeSize: b.universeSize - a.universeSize,
    tradable: b.tradable - a.tradable,
    excludedShare: b.excludedShare - a.excludedShare,
    observedShare: b.observedShare - a.observedShare,
    policyCost: change(a.policyCost, b.policyCost),
    policySpearman: change(a.policyCost, b.policyCost),
    models: b.stake.models - a.stake.models,
    totalStake,
    gini: change(a.stake.gini, b.stake.gini),
    nakamoto50: b.stake.nakamoto50 - a.stake.nakamoto50,
    effectiveModels: b.stake.effectiveModels - a.stake.effectiveModels,
    top10Share: change(a.stake.top10Share, b.stake.top10Share),
    metaModelCorr: corr,
  };
}

/** Eras per summary page unless `limit` says otherwise, and the most a page may hold (docs/reports.md, paging). */
export const SUMMARY_DEFAULT_ERAS = ERA_PAGE.default;
export const SUMMARY_MAX_ERAS = ERA_PAGE.max;
/** A page stops before its eras pass this many bytes of JSON, so an answer stays under 256 KB with its totals. */
export const SUMMARY_MAX_ERA_BYTES = 200 * 1024;

/** The opaque `next` of a page whose oldest era is `era`: the following page holds the eras below it. */
export function summaryCursor(era: number): string {
  return encodeCursor({ era });
}

/** The era a cursor made by `summaryCursor` pages below, or null when the text is not such a cursor. */
export function readSummaryCursor(cursor: string): number | null {
  return decodeCursor(cursor, eraCursor)?.era ?? null;
}

export interface StoredPointRow {
  era: number;
  point: unknown;
  /** the era's total stake minus the previous stored point's, exact; null for the first */
  totalStakeChange: string | null;
}

/**
 * One page from up to `limit + 1` stored points, newest first (the extra one, when there, is the
 * previous era of the page's oldest: it gives that era's change and says a next page exists). The
 * page also ends early once its eras would pass `maxBytes` of JSON (never before its first era).
 */
export function summaryPage(
  rows: readonly StoredPointRow[],
  limit: number,
  links: ReadonlyMap<number, string>,
  maxBytes: number = SUMMARY_MAX_ERA_BYTES,
): { eras: SummaryPoint[]; next: string | null } {
  const points = rows.map((row): SummaryPoint => {
    const stored = row.point as StoredPoint;
    return { ...stored, policySpearman: stored.policyCost, closedAt: new Date(stored.closedAt), chainDigest: links.get(row.era) ?? null, change: null };
  });
  const eras: SummaryPoint[] = [];
  let bytes = 0;
  for (let k = 0; k < points.length && k < limit; k++) {
    const point = points[k];
    const previous = points[k + 1];
    if (previous !== undefined) point.change = pointChange(previous, point, rows[k].totalStakeChange ?? '0');
    bytes += utf8Bytes(JSON.stringify(point));
    if (eras.length > 0 && bytes > maxBytes) break;
    eras.push(point);
  }
  const more = eras.length < points.length;
  return { eras, next: more ? summaryCursor(eras[eras.length - 1].era) : null };
}

const encoder = new TextEncoder();
const utf8Bytes = (text: string) => encoder.encode(text).length;
