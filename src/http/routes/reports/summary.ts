import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readSummaryCursor, SUMMARY_DEFAULT_ERAS, SUMMARY_MAX_ERAS } from '../../../domain/report-points.js';
import type { ReportsService } from '../../../services/reports.js';
import { decimalString, policyMode, problemResponses } from '../../schemas.js';
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

const cursorHelp = "pass the previous page's `next` unchanged, or leave `cursor` out for the newest eras";

export const summaryRoute: FastifyPluginAsyncZod<{ reports: ReportsService }> = async (app, { reports }) => {
  app.get(
    '/v1/reports/summary',
    {
      config: { access: 'public' },
      schema: {
        tags: ['reports'],
        summary: 'The headline figures of closed eras as a time series, newest first, a page at a time, with their change from the previous era and the cost of the policy cumulated per target',
        description:
          `Pages of \`limit\` eras (default ${SUMMARY_DEFAULT_ERAS}, at most ${SUMMARY_MAX_ERAS}), newest first; a page may hold fewer to stay under 256 KB. ` +
          'The next page is `?cursor=` the previous page\'s `next` (opaque; null on the last page). Every figure is stored when its era\'s run or a target ' +
          'is computed, so a page reads its own eras only. `cumulativeCost` sums each target over every era that has it, the same on every page.',
        querystring: z.strictObject({
          limit: z.coerce
            .number({ error: `limit must be a whole number of eras from 1 to ${SUMMARY_MAX_ERAS}` })
            .int(`limit must be a whole number of eras from 1 to ${SUMMARY_MAX_ERAS}`)
            .min(1, `limit must be a whole number of eras from 1 to ${SUMMARY_MAX_ERAS}`)
            .max(SUMMARY_MAX_ERAS, `limit must be at most ${SUMMARY_MAX_ERAS}; follow \`next\` for more eras`)
            .optional(),
          cursor: z
            .string()
            .refine((cursor) => readSummaryCursor(cursor) !== null, `not a cursor this service gave: ${cursorHelp}`)
            .optional()
            .describe("the previous page's `next`"),
        }),
        response: {
          200: z.object({
            eras: z.array(summaryPoint).describe('newest first'),
            next: z.string().nullable().describe('pass as `cursor` for the older eras; null on the last page'),
            targets: z.array(z.string()).describe("the targets of this page's eras"),
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
    async (request) => {
      const { limit, cursor } = request.query;
      return reports.summary({ limit, before: cursor === undefined ? undefined : (readSummaryCursor(cursor) ?? undefined) });
    },
  );
};
