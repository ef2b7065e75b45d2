import { chainDigests } from '../db/bundles.js';
import type { Database } from '../db/client.js';
import { reportsDal } from '../db/reports.js';
import type { RunFigures } from '../domain/era-report.js';
import { pointChange, type StoredPoint, type SummaryPoint } from '../domain/report-points.js';
import { conflict } from '../errors.js';
import type { ErasService } from './eras.js';
import type { ReportFiguresService } from './report-figures.js';

export type { SummaryPoint } from '../domain/report-points.js';

export interface EraReport extends RunFigures {
  era: number;
  /** the same number as the deprecated `policyCost`, named for what it is */
  policySpearman: number | null;
  closedAt: Date;
  run: { seq: number; trigger: 'close' | 'recompute'; computedAt: Date };
  metaModelCorr: { target: string; main: boolean; corr: number | null }[];
  performanceCost: { target: string; main: boolean; unconstrained: number | null; traded: number | null; cost: number | null; byRule: { ruleId: string; cost: number | null }[] }[];
  /** the era's link in the chain of resolved eras' bundles; null until it resolves */
  chainDigest: string | null;
}

/** The summary returns at most this many eras per request: its work is bounded whatever the history. */
export const SUMMARY_MAX_ERAS = 1000;

export function reportsService(deps: { db: Database; eras: ErasService; reportFigures: ReportFiguresService }) {
  const { db, eras: erasService, reportFigures } = deps;
  const dal = reportsDal(db);

  return {
    /** 404 for an unknown era, 409 until it closes. Read from what the run and the target uploads stored. */
    async eraReport(number: number): Promise<EraReport> {
      const era = await erasService.get(number);
      if (!era.closedAt) throw conflict(`era ${number} is not closed yet; its report exists once it closes`);
      const run = await dal.latestRun(number);
      if (run === null) throw conflict(`era ${number} has no meta-model run yet`);
      const figures = run.report === null ? await reportFigures.figuresFromRun(db, number, run.id) : (run.report as RunFigures);
      const costs = await dal.costs(number);
      return {
        era: number,
        closedAt: era.closedAt,
        run: { seq: run.seq, trigger: run.trigger, computedAt: run.computedAt },
        ...figures,
        policySpearman: figures.policyCost,
        metaModelCorr: costs.map((c) => ({ target: c.target, main: c.target === era.mainTarget, corr: c.traded })),
        performanceCost: costs.map((c) => ({
          target: c.target,
          main: c.target === era.mainTarget,
          unconstrained: c.unconstrained,
          traded: c.traded,
          cost: c.cost,
          byRule: c.byRule.map((r) => ({ ruleId: r.ruleId, cost: r.cost })),
        })),
        chainDigest: (await chainDigests(db, { from: number, to: number })).get(number) ?? null,
      };
    },

    /**
     * Closed eras as a time series, oldest first: at most `limit` from `fromEra` (default: the
     * latest `limit`), each with its change from the previous closed era, and the cost of the
     * policy cumulated per target over every era. Each request reads stored rows only.
     */
    async summary(options: { fromEra?: number; limit?: number } = {}) {
      const limit = Math.min(options.limit ?? SUMMARY_MAX_ERAS, SUMMARY_MAX_ERAS);
      const from = options.fromEra ?? (await dal.firstOfLatest(limit));
      const rows = await dal.points(from, limit);
      const points: SummaryPoint[] = [];
      const targetNames = new Set<string>();
      let previous: SummaryPoint | null = null;
      const links = rows.length === 0 ? new Map<number, string>() : await chainDigests(db, { from: rows[0].era, to: rows[rows.length - 1].era });
      for (const row of rows) {
        const stored = row.point as StoredPoint;
        const point: SummaryPoint = { ...stored, policySpearman: stored.policyCost, closedAt: new Date(stored.closedAt), chainDigest: links.get(row.era) ?? null, change: null };
        if (previous !== null) point.change = pointChange(previous, point, row.totalStakeChange ?? '0');
        previous = point;
        if (row.era < from) continue;
        for (const target of Object.keys(point.metaModelCorr)) targetNames.add(target);
        points.push(point);
      }
      const totals = await dal.totals();
      return {
        fromEra: from,
        limit,
        eras: points,
        targets: [...targetNames].sort(),
        cumulativeCost: totals.filter((t) => t.eras > 0).map((t) => ({ target: t.target, eras: t.eras, unconstrained: t.unconstrained, traded: t.traded, cost: t.cost })),
      };
    },
  };
}

export type ReportsService = ReturnType<typeof reportsService>;
