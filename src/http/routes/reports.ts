import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReportsService } from '../../services/reports.js';
import { policyCostSchema, signalExposures } from '../exposure-schemas.js';
import { decimalString, eraNumber, eraParams as params, policyMode, problemResponses } from '../schemas.js';
import { SUMMARY_MAX_ERAS } from '../../services/reports.js';

const share = z.number().min(0).max(1);
const chainDigest = z
  .string()
  .nullable()
  .describe("the era's link in the chain of resolved eras: SHA-256(previous era's chainDigest ‖ bundle digest), as GET /v1/eras/{number}/bundle carries it; null until the era resolves");

const stake = z
  .object({
    models: z.number().int().describe('models with at-risk stake > 0'),
    total: decimalString.describe('Σ at-risk stake, exact'),
    gini: z.number().nullable().describe('ΣΣ|π_i − π_j| / 2K over the stake shares π'),
    nakamoto50: z.number().int().describe('fewest models holding ≥ 50 % of the stake'),
    effectiveModels: z.number().describe('1 / Σ π²'),
    top10Share: z.number().nullable().describe('share held by the 10 largest stakes'),
  })
  .meta({ id: 'StakeConcentration' });

const eraReport = z
  .object({
    era: z.number().int(),
    closedAt: z.date(),
    run: z.object({ seq: z.number().int(), trigger: z.enum(['close', 'recompute']), computedAt: z.date() }).describe('the latest run, which the report describes'),
    universeSize: z.number().int(),
    tradable: z.number().int(),
    excluded: z.object({ count: z.number().int(), share }),
    observed: z.object({ count: z.number().int(), share }),
    byRule: z
      .array(
        z.object({
          ruleId: z.string().describe('a rule id, or neutralize:<field> / groupCap:<field> for those steps'),
          description: z.string().nullable(),
          action: z.enum(['exclude', 'scale', 'observe', 'neutralize', 'groupCap']),
          matched: z.number().int().describe('ids the rule matched; for neutralize and groupCap, the tradable ids they act on'),
          excluded: z.number().int().describe('ids the rule excluded, side-limited ones included (they stay tradable)'),
          observed: z.number().int(),
          scaled: z.number().int().describe('ids whose signal the part rescaled or shifted (scale, neutralize, groupCap)'),
          excludedShare: share,
          observedShare: share,
          scaledShare: share,
        }),
      )
      .describe('every part of the policy, in document order then neutralize and groupCap; in shadow mode, what enforcing would do'),
    policy: z
      .object({
        name: z.string(),
        version: z.number().int(),
        mode: policyMode,
        wouldBe: z
          .object({ tradable: z.number().int(), excluded: z.number().int(), observed: z.number().int(), cost: z.number().nullable() })
          .nullable()
          .describe('shadow mode: what enforcing would have served'),
      })
      .nullable()
      .describe('the version in force at close; null when none was'),
    policyCost: z.number().nullable().describe('Spearman of the traded signal with the unconstrained one over the tradable ids (1: no cost)'),
    stake,
    stakeDeciles: z
      .array(
        z.object({
          decile: z.number().int().describe('first stake decile of the group (1 holds the largest stakes)'),
          lastDecile: z.number().int().describe('last stake decile of the group'),
          models: z.number().int().describe('at least 5'),
          stakeShare: share,
        }),
      )
      .nullable()
      .describe('stake deciles folded together until each group holds at least 5 models; null (withheld) with fewer than 5 models, or for runs older than decile attribution'),
    sectorTilt: z.array(
      z.object({
        sector: z.string().describe("sectors under 5 ids are folded into 'other'"),
        ids: z.number().int(),
        unconstrained: z.number().nullable().describe('mean of the unconstrained meta-model M'),
        traded: z.number().nullable().describe('mean of the traded signal S over the tradable ids; null when none is'),
        byStakeDecile: z
          .array(z.number())
          .nullable()
          .describe('part of `unconstrained` due to each group of `stakeDeciles`, Σ (S_d / S)·mean(M_d) over its deciles; sums to it'),
      }),
    ),
    exposures: z
      .object({ unconstrained: signalExposures, traded: signalExposures })
      .describe('what the book leans into (DESIGN section 2 step 11): of M over the universe and of the published value over the tradable ids'),
    metaModelCorr: z
      .array(z.object({ target: z.string(), main: z.boolean(), corr: z.number().nullable() }))
      .describe("numerai_corr of the published value over the tradable ids with a target; empty until targets arrive"),
    chainDigest,
    performanceCost: z
      .array(policyCostSchema.extend({ main: z.boolean() }))
      .describe('the cost of the policy on each target (DESIGN section 2 step 12), on its latest version; empty until targets arrive'),
  })
  .meta({ id: 'EraReport' });

const summaryPoint = z.object({
  era: z.number().int(),
  closedAt: z.date(),
  universeSize: z.number().int(),
  tradable: z.number().int(),
  excludedShare: share,
  observedShare: share,
  policy: z.object({ name: z.string(), version: z.number().int(), mode: policyMode }).nullable(),
  policyCost: z.number().nullable(),
  stake,
  metaModelCorr: z.record(z.string(), z.number().nullable()).describe('by target'),
  chainDigest,
  performanceCost: z
    .record(z.string(), z.object({ unconstrained: z.number().nullable(), traded: z.number().nullable(), cost: z.number().nullable() }))
    .describe('the cost of the policy by target'),
  exposures: z
    .object({
      attributes: z.record(z.string(), z.object({ unconstrained: z.number().nullable(), traded: z.number().nullable() })),
      tags: z.record(z.string(), z.object({ unconstrained: z.number().nullable(), traded: z.number().nullable() })),
    })
    .describe('net exposure of M and of the traded value to each attribute and tag'),
  change: z
    .object({
      universeSize: z.number().int(),
      tradable: z.number().int(),
      excludedShare: z.number(),
      observedShare: z.number(),
      policyCost: z.number().nullable(),
      models: z.number().int(),
      totalStake: decimalString,
      gini: z.number().nullable(),
      nakamoto50: z.number().int(),
      effectiveModels: z.number(),
      top10Share: z.number().nullable(),
      metaModelCorr: z.record(z.string(), z.number().nullable()).describe('targets both eras have'),
    })
    .nullable()
    .describe('this era minus the previous closed era; null for the first'),
});

export const reportRoutes: FastifyPluginAsyncZod<{ reports: ReportsService }> = async (app, { reports }) => {
  app.get(
    '/v1/reports/eras/:number',
    {
      config: { access: 'public' },
      schema: {
        tags: ['reports'],
        summary: 'Anonymised transparency report of a closed era: what the policy removed and cost, stake concentration, sector tilts',
        description: 'No id, model or account appears. 404 for an unknown era, 409 until it closes.',
        params,
        response: { 200: eraReport, ...problemResponses },
      },
    },
    async (request) => reports.eraReport(request.params.number),
  );

  app.get(
    '/v1/reports/summary',
    {
      config: { access: 'public' },
      schema: {
        tags: ['reports'],
        summary: 'The headline figures of closed eras as a time series, oldest first, with their change from the previous era and the cost of the policy cumulated per target',
        description:
          `At most ${SUMMARY_MAX_ERAS} eras per request: the latest ones, or \`limit\` from \`fromEra\` on. Every figure is stored when its era's run or a target ` +
          'is computed, so a request reads stored rows only. `cumulativeCost` sums each target over every era that has it, whatever the window.',
        querystring: z.object({
          fromEra: eraNumber.optional(),
          limit: z.coerce.number().int().min(1).max(SUMMARY_MAX_ERAS).optional(),
        }),
        response: {
          200: z.object({
            fromEra: z.number().int(),
            limit: z.number().int(),
            eras: z.array(summaryPoint),
            targets: z.array(z.string()),
            cumulativeCost: z.array(
              z.object({
                target: z.string(),
                eras: z.number().int(),
                unconstrained: z.number().describe('Σ over eras of the unconstrained CORR'),
                traded: z.number().describe('Σ of the traded CORR'),
                cost: z.number().describe('Σ of the cost: what the policy has cost in CORR on this target so far'),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => reports.summary(request.query),
  );
};
