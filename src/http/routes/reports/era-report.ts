import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReportsService } from '../../../services/reports.js';
import { policyCostSchema, signalExposures } from '../../exposure-schemas.js';
import { eraParams as params, policyMode, problemResponses } from '../../schemas.js';
import { chainDigest, deprecatedPolicyCost, policySpearman, share, stake } from './schemas.js';

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
    policySpearman,
    policyCost: deprecatedPolicyCost,
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
      .describe('what the book leans into (docs/reports.md, exposures): of M over the universe and of the published value over the tradable ids'),
    metaModelCorr: z
      .array(z.object({ target: z.string(), main: z.boolean(), corr: z.number().nullable() }))
      .describe("numerai_corr of the published value over the tradable ids with a target; empty until targets arrive"),
    chainDigest,
    performanceCost: z
      .array(policyCostSchema.extend({ main: z.boolean() }))
      .describe('the cost of the policy on each target (docs/reports.md, cost of the policy), on its latest version; empty until targets arrive'),
  })
  .meta({ id: 'EraReport' });

export const eraReportRoute: FastifyPluginAsyncZod<{ reports: ReportsService }> = async (app, { reports }) => {
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
};
