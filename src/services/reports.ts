import { chainDigests } from '../db/bundles.js';
import type { Database } from '../db/client.js';
import { latestReportRun, policyCostTotalsAll, policyCostsOf, summaryPoints } from '../db/reports.js';
import type { RunFigures } from '../domain/era-report.js';
import { SUMMARY_DEFAULT_ERAS, SUMMARY_MAX_ERAS, summaryPage } from '../domain/report-points.js';
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

/** A page of the summary: `before` (from the previous page's cursor) and `limit` eras at most. */
export interface SummaryQuery {
  before?: number;
  limit?: number;
}

export function reportsService(deps: { db: Database; eras: Pick<ErasService, 'get'>; reportFigures: Pick<ReportFiguresService, 'figuresFromRun'> }) {
  const { db, eras: erasService, reportFigures } = deps;

  return {
    /** 404 for an unknown era, 409 until it closes. Read from what the run and the target uploads stored. */
    async eraReport(number: number): Promise<EraReport> {
      const era = await erasService.get(number);
      if (!era.closedAt) throw conflict(`era ${number} is not closed yet; its report exists once it closes`);
      const run = await latestReportRun(db, number);
      if (run === null) throw conflict(`era ${number} has no meta-model run yet`);
      const figures = run.report === null ? await reportFigures.figuresFromRun(db, number, run.id) : (run.report as RunFigures);
      const costs = await policyCostsOf(db, number);
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
     * Closed eras as a time series, newest first, one page at a time (docs/reports.md): each era
     * with its change from the previous closed era, and the cost of the policy cumulated per
     * target over every era (stored running totals). A page reads its own eras' stored rows, one
     * more, and the totals: its cost does not grow with history.
     */
    async summary(query: SummaryQuery = {}) {
      const limit = Math.min(query.limit ?? SUMMARY_DEFAULT_ERAS, SUMMARY_MAX_ERAS);
      const rows = await summaryPoints(db, query.before ?? null, limit + 1);
      const links = rows.length === 0 ? new Map<number, string>() : await chainDigests(db, { from: rows[rows.length - 1].era, to: rows[0].era });
      const page = summaryPage(rows, limit, links);
      const targetNames = new Set<string>();
      for (const point of page.eras) for (const target of Object.keys(point.metaModelCorr)) targetNames.add(target);
      const totals = await policyCostTotalsAll(db);
      return {
        eras: page.eras,
        next: page.next,
        targets: [...targetNames].sort(),
        cumulativeCost: totals.filter((t) => t.eras > 0).map((t) => ({ target: t.target, eras: t.eras, unconstrained: t.unconstrained, traded: t.traded, cost: t.cost })),
      };
    },
  };
}

export type ReportsService = ReturnType<typeof reportsService>;
