import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { chainDigests } from '../db/bundles.js';
import type { Database } from '../db/client.js';
import { metaModelRuns, policies, runInputs, universeRows } from '../db/schema.js';
import { latestTargets } from '../db/targets.js';
import { decodeFloat64 } from '../domain/packed.js';
import { change, decileContributions, ruleShares, sectorLabels, tiltBeforeAfter, type RuleShare, type StakeDecile } from '../domain/report.js';
import { numeraiCorr } from '../domain/scoring.js';
import { spearman, stakeConcentration } from '../domain/stats.js';
import { conflict } from '../errors.js';
import type { EraRow, ErasService } from './eras.js';
import { storedDocument } from './policies.js';

/** The parts of meta_model_runs.policy_report a report reads; older runs may lack `deciles`. */
const storedRunReport = z
  .looseObject({
    mode: z.enum(['enforce', 'shadow']).optional(),
    ruleCounts: z
      .array(
        z.looseObject({
          ruleId: z.string(),
          description: z.string().nullable(),
          action: z.looseObject({ type: z.enum(['exclude', 'scale', 'observe']) }),
          matched: z.number(),
          excluded: z.number(),
          observed: z.number(),
        }),
      )
      .optional(),
    shadowResult: z
      .looseObject({ tradable: z.number(), excluded: z.number(), spearman: z.number().nullable(), observedBy: z.record(z.string(), z.array(z.string())) })
      .nullable()
      .optional(),
    deciles: z
      .array(z.object({ decile: z.number(), models: z.number(), stake: z.number(), sectorMeans: z.record(z.string(), z.number()).nullable() }))
      .optional(),
  })
  .nullable();

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
const shareOf = (count: number, n: number) => (n === 0 ? 0 : count / n);

export interface StakeFigures {
  models: number;
  /** Σ at-risk stake, exact */
  total: string;
  gini: number | null;
  nakamoto50: number;
  effectiveModels: number;
  top10Share: number | null;
}

export interface EraReport {
  era: number;
  closedAt: Date;
  run: { seq: number; trigger: 'close' | 'recompute'; computedAt: Date };
  universeSize: number;
  tradable: number;
  excluded: { count: number; share: number };
  observed: { count: number; share: number };
  byRule: RuleShare[];
  policy: {
    name: string;
    version: number;
    mode: 'enforce' | 'shadow';
    /** shadow mode: what enforcing would have done */
    wouldBe: { tradable: number; excluded: number; observed: number; cost: number | null } | null;
  } | null;
  /** Spearman of the traded S with M over the tradable ids: 1 when the policy keeps M's ordering */
  policyCost: number | null;
  stake: StakeFigures;
  stakeDeciles: { decile: number; models: number; stakeShare: number }[] | null;
  sectorTilt: { sector: string; ids: number; unconstrained: number | null; traded: number | null; byStakeDecile: number[] | null }[];
  metaModelCorr: { target: string; main: boolean; corr: number | null }[];
  /** the era's link in the chain of resolved eras' bundles; null until it resolves */
  chainDigest: string | null;
}

export interface SummaryPoint {
  era: number;
  closedAt: Date;
  universeSize: number;
  tradable: number;
  excludedShare: number;
  observedShare: number;
  policy: { name: string; version: number; mode: 'enforce' | 'shadow' } | null;
  policyCost: number | null;
  stake: StakeFigures;
  metaModelCorr: Record<string, number | null>;
  chainDigest: string | null;
  /** this era minus the previous closed era; null for the first */
  change: {
    universeSize: number;
    tradable: number;
    excludedShare: number;
    observedShare: number;
    policyCost: number | null;
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

/** A closed era's latest run and a fingerprint of what its report depends on. */
interface ReportSource {
  era: number;
  runId: string;
  /** previous closed era's total at-risk stake subtracted in numeric, so exact */
  totalStakeChange: string | null;
  key: string;
}

// Runs and target versions never change once written, so a report keyed by the latest of both is never stale.
const CACHE_SIZE = 512;

export function reportsService(deps: { db: Database; eras: ErasService }) {
  const { db, eras: erasService } = deps;
  const cache = new Map<string, Omit<EraReport, 'chainDigest'>>();

  async function sources(number?: number): Promise<ReportSource[]> {
    const { rows } = await db.execute<{ era: number; runId: string; totalStakeChange: string | null; targets: string }>(sql`
      select e.number as era, r.id as "runId",
             trim_scale(r.total_stake - lag(r.total_stake) over (order by e.number))::text as "totalStakeChange",
             coalesce((select string_agg(t.name || '@' || t.version, ',' order by t.name)
                       from (select name, max(version) as version from targets where era_number = e.number group by name) t), '') as targets
      from eras e
      cross join lateral (select id, total_stake from meta_model_runs m where m.era_number = e.number order by m.seq desc limit 1) r
      where e.closed_at is not null ${number === undefined ? sql`` : sql`and e.number <= ${number}`}
      order by e.number`);
    return rows.map((r) => ({ era: r.era, runId: r.runId, totalStakeChange: r.totalStakeChange, key: `${r.runId}|${r.targets}` }));
  }

  async function build(era: EraRow, runId: string): Promise<Omit<EraReport, 'chainDigest'>> {
    const [run] = await db
      .select({
        seq: metaModelRuns.seq,
        trigger: metaModelRuns.trigger,
        computedAt: metaModelRuns.computedAt,
        totalStake: metaModelRuns.totalStake,
        tradable: metaModelRuns.tradable,
        unconstrained: metaModelRuns.unconstrained,
        signal: metaModelRuns.signal,
        value: metaModelRuns.value,
        observedBy: metaModelRuns.observedBy,
        policyReport: metaModelRuns.policyReport,
        policyName: policies.name,
        policyVersion: policies.version,
        policyDocument: policies.document,
      })
      .from(metaModelRuns)
      .leftJoin(policies, eq(policies.id, metaModelRuns.policyId))
      .where(eq(metaModelRuns.id, runId));
    const stakes = await db.select({ stake: sql<number>`${runInputs.stake}::float8` }).from(runInputs).where(eq(runInputs.runId, runId));
    const sectors = await db.select({ sector: universeRows.sector }).from(universeRows).where(eq(universeRows.eraNumber, era.number)).orderBy(asc(universeRows.position));
    const eraTargets = await latestTargets(db, era.number);

    const n = era.universeSize;
    const unconstrained = decodeFloat64(run.unconstrained);
    const signal = decodeFloat64(run.signal);
    const value = decodeFloat64(run.value);
    const stored = storedRunReport.parse(run.policyReport) ?? {};
    const deciles: StakeDecile[] | null = stored.deciles ?? null;
    const decileStake = deciles?.reduce((sum, d) => sum + d.stake, 0) ?? 0;
    const shadow = stored.shadowResult ?? null;
    const observed = Object.keys(run.observedBy).length;
    const concentration = stakeConcentration(stakes.map((s) => s.stake));

    return {
      era: era.number,
      closedAt: era.closedAt!,
      run: { seq: run.seq, trigger: run.trigger, computedAt: run.computedAt },
      universeSize: n,
      tradable: run.tradable,
      excluded: { count: n - run.tradable, share: shareOf(n - run.tradable, n) },
      observed: { count: observed, share: shareOf(observed, n) },
      byRule: ruleShares(stored.ruleCounts ?? [], n),
      policy:
        run.policyName === null || run.policyVersion === null
          ? null
          : {
              name: run.policyName,
              version: run.policyVersion,
              mode: stored.mode ?? storedDocument(run.policyDocument).mode,
              wouldBe:
                shadow === null
                  ? null
                  : { tradable: shadow.tradable, excluded: shadow.excluded, observed: Object.keys(shadow.observedBy).length, cost: shadow.spearman },
            },
      policyCost: finiteOrNull(spearman(signal, unconstrained)),
      stake: {
        models: concentration.models,
        total: run.totalStake,
        gini: finiteOrNull(concentration.gini),
        nakamoto50: concentration.nakamoto50,
        effectiveModels: concentration.effectiveModels,
        top10Share: finiteOrNull(concentration.top10Share),
      },
      stakeDeciles: deciles?.map((d) => ({ decile: d.decile, models: d.models, stakeShare: shareOf(d.stake, decileStake) })) ?? null,
      sectorTilt: tiltBeforeAfter(unconstrained, signal, sectorLabels(sectors)).map((t) => ({
        sector: t.sector,
        ids: t.ids,
        unconstrained: finiteOrNull(t.unconstrained),
        traded: finiteOrNull(t.traded),
        byStakeDecile: deciles === null ? null : decileContributions(deciles, t.sector),
      })),
      metaModelCorr: eraTargets.map((t) => ({
        target: t.name,
        main: t.name === era.mainTarget,
        // numerai_corr of the published value (NaN outside T) over the tradable ids with a target, as the scores route reports it.
        corr: finiteOrNull(numeraiCorr(value, decodeFloat64(t.values))),
      })),
    };
  }

  async function report(source: ReportSource, era?: EraRow): Promise<Omit<EraReport, 'chainDigest'>> {
    const cached = cache.get(source.key);
    if (cached) return cached;
    const built = await build(era ?? (await erasService.get(source.era)), source.runId);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source.key, built);
    return built;
  }

  return {
    /** 404 for an unknown era, 409 until it closes. */
    async eraReport(number: number): Promise<EraReport> {
      const era = await erasService.get(number);
      if (!era.closedAt) throw conflict(`era ${number} is not closed yet; its report exists once it closes`);
      const source = (await sources(number)).at(-1);
      if (!source || source.era !== number) throw conflict(`era ${number} has no meta-model run yet`);
      // Outside the cached report: the era's link appears when it resolves, after its last run and target.
      return { ...(await report(source, era)), chainDigest: (await chainDigests(db)).get(number) ?? null };
    },

    /** One point per closed era, oldest first, with its change from the previous one. */
    async summary(): Promise<{ eras: SummaryPoint[]; targets: string[] }> {
      const points: SummaryPoint[] = [];
      const targetNames = new Set<string>();
      let previous: SummaryPoint | null = null;
      const links = await chainDigests(db);
      for (const source of await sources()) {
        const r = await report(source);
        const point: SummaryPoint = {
          era: r.era,
          closedAt: r.closedAt,
          universeSize: r.universeSize,
          tradable: r.tradable,
          excludedShare: r.excluded.share,
          observedShare: r.observed.share,
          policy: r.policy === null ? null : { name: r.policy.name, version: r.policy.version, mode: r.policy.mode },
          policyCost: r.policyCost,
          stake: r.stake,
          metaModelCorr: Object.fromEntries(r.metaModelCorr.map((c) => [c.target, c.corr])),
          chainDigest: links.get(r.era) ?? null,
          change: null,
        };
        for (const c of r.metaModelCorr) targetNames.add(c.target);
        if (previous !== null) point.change = pointChange(previous, point, source.totalStakeChange ?? '0');
        points.push(point);
        previous = point;
      }
      return { eras: points, targets: [...targetNames].sort() };
    },
  };
}

function pointChange(a: SummaryPoint, b: SummaryPoint, totalStake: string): NonNullable<SummaryPoint['change']> {
  const corr: Record<string, number | null> = {};
  for (const target of Object.keys(b.metaModelCorr)) if (target in a.metaModelCorr) corr[target] = change(a.metaModelCorr[target], b.metaModelCorr[target]);
  return {
    universeSize: b.universeSize - a.universeSize,
    tradable: b.tradable - a.tradable,
    excludedShare: b.excludedShare - a.excludedShare,
    observedShare: b.observedShare - a.observedShare,
    policyCost: change(a.policyCost, b.policyCost),
    models: b.stake.models - a.stake.models,
    totalStake,
    gini: change(a.stake.gini, b.stake.gini),
    nakamoto50: b.stake.nakamoto50 - a.stake.nakamoto50,
    effectiveModels: b.stake.effectiveModels - a.stake.effectiveModels,
    top10Share: change(a.stake.top10Share, b.stake.top10Share),
    metaModelCorr: corr,
  };
}

export type ReportsService = ReturnType<typeof reportsService>;
