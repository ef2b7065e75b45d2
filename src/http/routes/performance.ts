import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WINDOW, type ScoringService } from '../../services/scoring.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { INT4_MAX, decimalString, modelParams, problemResponses, targetName } from '../schemas.js';

const summary = z.object({
  mean: z.number().nullable(),
  std: z.number().nullable().describe('population standard deviation (ddof 0)'),
  sharpe: z.number().nullable().describe('mean / std; null with fewer than 2 eras or no spread'),
  maxDrawdown: z.number().nullable().describe('largest fall of the cumulative score from its running peak (starting at 0), in score units'),
});

export const performanceRoutes: FastifyPluginAsyncZod<{ scoring: ScoringService }> = async (app, { scoring }) => {
  app.get(
    '/v1/models/:modelId/performance',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['scores'],
        summary: "A model's performance over resolved eras on one target (default: the service's main target); owner, operators and admins",
        description:
          "The per-era current CORR and MMC (on each target's latest version) of the model's on-time submissions in resolved eras, in era order, as resolution recorded them; " +
          'late submissions count in neither. `stake` and `payout` are the era\'s at-risk stake and payout (paid on its main target). ' +
          'Summaries run over the eras with a value; `payout.return` is Σ payouts / Σ at-risk stakes over the eras with a payout.',
        params: modelParams,
        querystring: z.object({ target: targetName.optional() }),
        response: {
          200: z.object({
            modelId: z.uuid(),
            model: z.string(),
            target: z.string(),
            eras: z.array(
              z.object({ era: z.number().int(), corr: z.number().nullable(), mmc: z.number().nullable(), stake: decimalString.nullable(), payout: decimalString.nullable() }),
            ),
            corr: summary,
            mmc: summary,
            payout: z.object({ total: decimalString, return: z.number().nullable() }),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => scoring.performance(requirePrincipal(request), request.params.modelId, request.query.target),
  );

  app.get(
    '/v1/leaderboard',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['scores'],
        summary: 'Models ranked by reputation over the last `window` resolved eras on one target (default: the main target)',
        description:
          `\`window\`: ${WINDOW.min}–${WINDOW.max} resolved eras, default ${WINDOW.default}. A model is listed when it has an on-time era with both scores in the window; ` +
          '`corrRep` and `mmcRep` are the means over those eras, `score` the mean of corrMultiplier·CORR + mmcMultiplier·MMC with each era\'s multipliers, `eras` how many. ' +
          'Ranked by score, highest first, ties by model name; `stake` is the at-risk stake of the latest era the model took part in. ' +
          '`limit` (default 100, at most 1000) and `offset` page through `total` ranked models. ' +
          'The ranking is computed once per resolution and window and served from memory until the next era resolves; a page always reflects every resolved era.',
        querystring: z.object({
          target: targetName.optional(),
          window: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          offset: z.coerce.number().int().min(0).max(INT4_MAX).default(0),
        }),
        response: {
          200: z.object({
            target: z.string(),
            window: z.number().int(),
            eras: z.array(z.number().int()),
            total: z.number().int(),
            rows: z.array(
              z.object({
                rank: z.number().int(),
                model: z.string(),
                eras: z.number().int(),
                corrRep: z.number(),
                mmcRep: z.number(),
                score: z.number(),
                stake: decimalString.nullable(),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { window, ...rest } = request.query;
      // Checked by the service, so any bad window gets the one message that says what is accepted.
      return scoring.leaderboard({ ...rest, window: window === undefined ? undefined : /^\d{1,4}$/.test(window) ? Number(window) : Number.NaN });
    },
  );
};
