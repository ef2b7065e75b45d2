import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScoringService } from '../../services/scoring.js';
import { ANY_KEY, STAFF, requirePrincipal } from '../plugins/auth.js';
import { sendCsv, wantsCsv } from '../body.js';
import { decimalString, problemResponses } from '../schemas.js';

const eraNumber = z.coerce.number().int().min(0).max(2_147_483_647);

const scoreFields = {
  submissionId: z.uuid(),
  late: z.boolean(),
  status: z.string().describe("'ok', or why a score is missing: insufficient_overlap (< 80 % overlap: no CORR, no MMC, payout 0), degenerate, empty, or mmc_empty, mmc_degenerate, corr_degenerate when only one is missing"),
  corr: z.number().nullable(),
  mmc: z.number().nullable(),
  stake: decimalString.nullable().describe('at-risk stake, on the main target for on-time submissions in the closing run only'),
  payout: decimalString.nullable().describe('stake × clipped payout factor, rounded to 10 decimals; 0 for a model without a score'),
};

const CSV_COLUMNS = ['era', 'target', 'late', 'status', 'corr', 'mmc', 'stake', 'payout'] as const;

export const scoreRoutes: FastifyPluginAsyncZod<{ scoring: ScoringService }> = async (app, { scoring }) => {
  app.get(
    '/v1/eras/:number/scores',
    {
      config: { access: STAFF },
      schema: {
        tags: ['scores'],
        summary: "Every model's CORR, MMC and payout on one target of the era (default: its main target)",
        description: "`metaModelCorr` is numerai_corr of the latest run's published value over the tradable ids that have a target.",
        params: z.object({ number: eraNumber }),
        querystring: z.object({ target: z.string().regex(/^[A-Za-z0-9_]{1,64}$/).optional() }),
        response: {
          200: z.object({
            era: z.number().int(),
            target: z.string(),
            metaModelCorr: z.number().nullable(),
            scores: z.array(z.object({ modelId: z.uuid(), ...scoreFields })),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => scoring.eraScores(request.params.number, request.query.target),
  );

  app.get(
    '/v1/models/:modelId/scores',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['scores'],
        summary: "A model's scores across eras and targets, newest era first; owner, operators and admins. `Accept: text/csv` for CSV",
        params: z.object({ modelId: z.uuid() }),
        response: {
          200: z.object({
            modelId: z.uuid(),
            scores: z.array(z.object({ era: z.number().int(), target: z.string(), ...scoreFields, computedAt: z.date() })),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const history = await scoring.modelScores(requirePrincipal(request), request.params.modelId);
      if (!wantsCsv(request)) return history;
      const lines = history.scores.map((s) => CSV_COLUMNS.map((column) => String(s[column] ?? '')).join(','));
      return sendCsv(reply, `${CSV_COLUMNS.join(',')}\n${lines.map((line) => `${line}\n`).join('')}`);
    },
  );

  app.post(
    '/v1/eras/:number/resolve',
    {
      config: { access: STAFF },
      schema: {
        tags: ['scores'],
        summary: "Finalise the era's payouts on its main target and add each to the model's stake history, once",
        description: 'Idempotent: resolving again returns the same result and changes nothing. 409 until the main target is uploaded; afterwards targets are frozen.',
        params: z.object({ number: eraNumber }),
        response: {
          200: z.object({ era: z.number().int(), status: z.literal('resolved'), totalPayout: decimalString }),
          ...problemResponses,
        },
      },
    },
    async (request) => scoring.resolve(requirePrincipal(request).accountId, request.params.number),
  );
};
