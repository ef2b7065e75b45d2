import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScoringService } from '../../services/scoring.js';
import { ANY_KEY, STAFF, requirePrincipal } from '../plugins/auth.js';
import { sendCsv, wantsCsv } from '../body.js';
import { INT4_MAX, decimalString, eraNumber, eraParams, modelParams, problemResponses, targetName } from '../schemas.js';
import { badRequest } from '../../errors.js';

const scoreFields = {
  modelId: z.uuid(),
  model: z.string().describe("the model's name"),
  submissionId: z.uuid(),
  late: z.boolean(),
  status: z.string().describe("'ok', or why a score is missing: insufficient_overlap (< 80 % overlap: no CORR, no MMC, payout 0), degenerate, empty, or mmc_empty, mmc_degenerate, corr_degenerate when only one is missing"),
  corr: z.number().nullable(),
  mmc: z.number().nullable(),
  stake: decimalString.nullable().describe('at-risk stake, on the main target for on-time submissions in the closing run only'),
  payout: decimalString.nullable().describe('stake × clipped payout factor, rounded to 10 decimals; 0 for a model without a score'),
};

const resolveQuery = z.strictObject({
  dryRun: z.enum(['true', 'false']).optional().describe('`true`: compute what resolving would pay and write nothing'),
});

const dryRun = z
  .object({
    era: z.number().int(),
    totalPayout: decimalString.describe('Σ payouts − Σ burns the resolution would move'),
    models: z.array(
      z.object({
        modelId: z.uuid(),
        name: z.string(),
        stake: decimalString.nullable().describe('at-risk stake'),
        corr: z.number().nullable(),
        mmc: z.number().nullable(),
        payout: decimalString.describe('the signed change of the balance the resolution would write (a burn negative)'),
      }),
    ),
  })
  .describe('a dry run: what resolving now would pay, by model name; nothing written');

const CSV_COLUMNS = ['era', 'target', 'late', 'status', 'corr', 'mmc', 'stake', 'payout', 'version'] as const;

export const scoreRoutes: FastifyPluginAsyncZod<{ scoring: ScoringService }> = async (app, { scoring }) => {
  app.get(
    '/v1/eras/:number/scores',
    {
      config: { access: STAFF },
      schema: {
        tags: ['scores'],
        summary: "Every model's CORR, MMC and payout on one target of the era (default: its main target), on its latest version unless `version` names another",
        description:
          "`metaModelCorr` is numerai_corr of the latest run's published value over the tradable ids that have a target. On-time submissions first, then late ones, each by model name.",
        params: eraParams,
        querystring: z.object({ target: targetName.optional(), version: z.coerce.number().int().min(1).max(INT4_MAX).optional() }),
        response: {
          200: z.object({
            era: z.number().int(),
            target: z.string(),
            version: z.number().int(),
            metaModelCorr: z.number().nullable(),
            scores: z.array(z.object(scoreFields)),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => scoring.eraScores(request.params.number, request.query.target, request.query.version),
  );

  app.get(
    '/v1/models/:modelId/scores',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['scores'],
        summary: "A model's current scores (on the latest version of each target) across eras and targets, newest era first; owner, operators and admins. `Accept: text/csv` for CSV",
        description:
          'With `era` and `target` together, `history` also lists that score on every version of the target (each upload before resolution), oldest first, on-time before late.',
        params: modelParams,
        querystring: z.object({ era: eraNumber.optional(), target: targetName.optional() }),
        response: {
          200: z.object({
            modelId: z.uuid(),
            model: z.string(),
            scores: z.array(z.object({ era: z.number().int(), target: z.string(), version: z.number().int(), ...scoreFields, computedAt: z.date() })),
            era: z.number().int().optional(),
            target: z.string().optional(),
            history: z
              .array(
                z.object({
                  version: z.number().int(),
                  uploadedAt: z.date(),
                  late: z.boolean(),
                  status: z.string(),
                  corr: z.number().nullable(),
                  mmc: z.number().nullable(),
                }),
              )
              .optional(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { era, target } = request.query;
      if ((era === undefined) !== (target === undefined)) throw badRequest('era and target go together: send both to see the history of one score, or neither');
      const focus = era !== undefined && target !== undefined ? { era, target } : undefined;
      const history = await scoring.modelScores(requirePrincipal(request), request.params.modelId, focus);
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
        summary: "Finalise the era's payouts on the latest version of its main target and add each to the model's stake history, once",
        description:
          'Idempotent: resolving again returns the same result and changes nothing. 409 until the main target is uploaded; afterwards targets are final. ' +
          "Records each on-time model's scores on the latest version of every target, its stake and payout, which performance and the leaderboard read. " +
          '`?dryRun=true` answers what resolving now would pay, computed the same way (settled against each balance), and writes nothing: no ledger entry, ' +
          'no bundle, no audit entry; 409 for an era already resolved.',
        params: eraParams,
        querystring: resolveQuery,
        response: {
          200: z.union([z.object({ era: z.number().int(), status: z.literal('resolved'), totalPayout: decimalString }), dryRun]),
          ...problemResponses,
        },
      },
    },
    async (request) =>
      request.query.dryRun === 'true' ? scoring.resolveDryRun(request.params.number) : scoring.resolve(requirePrincipal(request), request.params.number),
  );
};
