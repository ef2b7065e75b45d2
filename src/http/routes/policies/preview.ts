import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { policyCostSchema, signalExposures } from '../../exposure-schemas.js';
import { STAFF } from '../../plugins/auth.js';
import { policyMode, policyRef, problemResponses } from '../../schemas.js';
import { id, warnings } from './schemas.js';

const MAX_PREVIEW_ERAS = 50;

const body = z.strictObject({
  eras: z
    .array(z.number().int().min(0))
    .min(1)
    .max(MAX_PREVIEW_ERAS)
    .superRefine((eras, ctx) => {
      const seen = new Set<number>();
      eras.forEach((era, i) => {
        if (seen.has(era)) ctx.addIssue({ code: 'custom', path: [i], message: `era ${era} is listed twice` });
        seen.add(era);
      });
    }),
});

const ruleEffect = z.object({
  ruleId: z.string(),
  description: z.string().nullable(),
  action: z.looseObject({ type: z.enum(['exclude', 'scale', 'observe']) }),
  matched: z.number().int(),
  missingData: z.number().int().describe('ids whose verdict depended on a value they lack'),
  excluded: z.number().int().describe('ids the rule excluded, side-limited ones included (they stay tradable)'),
  observed: z.number().int(),
  share: z.number().describe('ids the rule acted on (excluded, observed or scaled) over the universe size'),
});

const eraPreview = z.object({
  era: z.number().int(),
  run: z.object({ id: z.uuid(), seq: z.number().int() }).nullable().describe('the run whose unconstrained meta-model was used; null for an open era'),
  provisional: z
    .object({ models: z.number().int() })
    .nullable()
    .describe('an open era: M from the on-time submissions and stakes so far, as a close now would take them'),
  universeSize: z.number().int(),
  tradable: z.number().int(),
  excluded: z.object({ count: z.number().int(), share: z.number() }),
  observed: z.object({ count: z.number().int(), share: z.number() }),
  byRule: z.array(ruleEffect),
  sectorTilt: z
    .array(z.object({ sector: z.string(), ids: z.number().int(), before: z.number().nullable(), after: z.number().nullable() }))
    .describe('mean of M (before) and of the traded signal S over tradable ids (after) per sector; sectors under 5 ids folded into "other"'),
  spearman: z.number().nullable().describe('Spearman correlation of S with M over the tradable ids'),
  conflict: z
    .object({ parts: z.array(z.string()).describe("rule ids, 'neutralize', 'groupCap' (or 'onMissingData')"), message: z.string() })
    .nullable()
    .describe('the parts of the document that together leave fewer than 2 distinct tradable values on this era (or cannot all hold); such a version cannot be activated. Null when usable'),
  exposures: z.object({ before: signalExposures, after: signalExposures }).describe('of M over the universe (before) and of the traded value over the tradable ids (after)'),
  performanceCost: z.array(policyCostSchema).describe('the cost of this version on every target the era has (empty before targets arrive)'),
  turnover: z
    .object({
      previousEra: z.number().int(),
      sector: z.number(),
      sectorUnconstrained: z.number(),
      excludedShareChange: z.number(),
    })
    .nullable()
    .describe(
      'Against the closest earlier era with a run, under the same version. Ids are new every era, so turnover is measured on sectors: ' +
        'the book is w_i = (S_i − mean S) / Σ|S_j − mean S| over tradable ids, a sector’s exposure is the sum of its w_i, and `sector` is ' +
        '½ Σ |exposure − previous exposure| over sectors, in [0, 1]. `sectorUnconstrained` is the same for M over every id; ' +
        '`excludedShareChange` is this era’s excluded share minus the previous one. Null when no earlier era has a run.',
    ),
});

const preview = z.object({
  policy: policyRef.extend({ mode: policyMode }),
  warnings: warnings.describe('fields and values no previewed universe has, and per era the constraints that leave nothing to order (see `eras[].conflict`)'),
  eras: z.array(eraPreview),
});

export const previewPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.post(
    '/v1/policies/:id/preview',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: `Dry-run a version on up to ${MAX_PREVIEW_ERAS} eras, closed or open (an open era on the submissions so far; shadow documents show what enforcing would do)`,
        params: id,
        body,
        response: { 200: preview, ...problemResponses },
      },
    },
    async (request) => policies.preview(request.params.id, request.body.eras),
  );
};
