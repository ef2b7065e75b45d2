import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SUMMARY_MAX_ERAS, type ReportsService } from '../../../services/reports.js';
import { decimalString, eraNumber, policyMode, problemResponses } from '../../schemas.js';
import { chainDigest, deprecatedPolicyCost, policySpearman, share, stake } from './schemas.js';

const summaryPoint = z.object({
  era: z.number().int(),
  closedAt: z.date(),
  universeSize: z.number().int(),
  tradable: z.number().int(),
  excludedShare: share,
  observedShare: share,
  policy: z.object({ name: z.string(), version: z.number().int(), mode: policyMode }).nullable(),
  policySpearman,
  policyCost: deprecatedPolicyCost,
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
      policySpearman: z.number().nullable().describe('change of policySpearman'),
      policyCost: deprecatedPolicyCost,
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

export const summaryRoute: FastifyPluginAsyncZod<{ reports: ReportsService }> = async (app, { reports }) => {
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
