import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScoringService } from '../../services/scoring.js';
import { ANY_KEY, STAFF, requirePrincipal } from '../plugins/auth.js';
import { sendCsv, wantsCsv } from '../body.js';
import { INT4_MAX, decimalString, eraNumber, eraParams, modelParams, problemResponses, targetName } from '../schemas.js';
import { badRequest } from '../../errors.js';
import { decodeCursor, ERA_PAGE, eraCursor, MODEL_PAGE, MODEL_SCORES_MAX_ROWS, modelCursor } from '../../domain/page-cursor.js';

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

const PAGING =
  '`next` is the cursor of the following page (opaque: send it back unchanged as `?cursor=`), null on the last page; ' +
  'a `limit` or `cursor` that is not one of these is 400.';

/** The position a `?cursor=` names, or 400 saying how to get a good one. */
function cursorOf<T>(text: string | undefined, shape: z.ZodType<T>): T | undefined {
  if (text === undefined) return undefined;
  const position = decodeCursor(text, shape);
  if (position === undefined) throw badRequest('cursor is not one this list gave: send the `next` of the previous page unchanged, or no cursor for the first page');
  return position;
}

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
          "`metaModelCorr` is numerai_corr of the latest run's published value over the tradable ids that have a target. On-time submissions first, then late ones, each by model name. " +
          `Paged by model: \`?limit=\` rows (default ${MODEL_PAGE.default}, at most ${MODEL_PAGE.max}, which keeps a page under 256 KB) and \`?cursor=\` from the previous page's \`next\`. ${PAGING}`,
        params: eraParams,
        querystring: z.object({
          target: targetName.optional(),
          version: z.coerce.number().int().min(1).max(INT4_MAX).optional(),
          limit: z.coerce.number().int().min(1).max(MODEL_PAGE.max).default(MODEL_PAGE.default),
          cursor: z.string().optional(),
        }),
        response: {
          200: z.object({
            era: z.number().int(),
            target: z.string(),
            version: z.number().int(),
            metaModelCorr: z.number().nullable(),
            scores: z.array(z.object(scoreFields)),
            next: z.string().nullable(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { target, version, limit, cursor } = request.query;
      return scoring.eraScores(request.params.number, target, version, { limit, after: cursorOf(cursor, modelCursor) });
    },
  );

  app.get(
    '/v1/models/:modelId/scores',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['scores'],
        summary: "A model's current scores (on the latest version of each target) across eras and targets, newest era first; owner, operators and admins. `Accept: text/csv` for CSV",
        description:
          'With `era` and `target` together, `history` also lists that score on every version of the target (each upload before resolution), oldest first, on-time before late. ' +
          `Paged by era, newest first: \`?limit=\` eras (default ${ERA_PAGE.default}, at most ${ERA_PAGE.max}) and \`?cursor=\` from the previous page's \`next\`; ` +
          `a page also ends before an era that would take it past ${MODEL_SCORES_MAX_ROWS} score rows (it holds one era at least), so it stays under 256 KB. ${PAGING} ` +
          'As CSV, the next page is in a `Link: <…>; rel="next"` header.',
        params: modelParams,
        querystring: z.object({
          era: eraNumber.optional(),
          target: targetName.optional(),
          limit: z.coerce.number().int().min(1).max(ERA_PAGE.max).default(ERA_PAGE.default),
          cursor: z.string().optional(),
        }),
        response: {
          200: z.object({
            modelId: z.uuid(),
            model: z.string(),
            scores: z.array(z.object({ era: z.number().int(), target: z.string(), version: z.number().int(), ...scoreFields, computedAt: z.date() })),
            next: z.string().nullable(),
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
      const { era, target, limit, cursor } = request.query;
      if ((era === undefined) !== (target === undefined)) throw badRequest('era and target go together: send both to see the history of one score, or neither');
      const focus = era !== undefined && target !== undefined ? { era, target } : undefined;
      const page = { limit, before: cursorOf(cursor, eraCursor)?.era };
      const history = await scoring.modelScores(requirePrincipal(request), request.params.modelId, focus, page);
      if (!wantsCsv(request)) return history;
      if (history.next !== null) {
        const url = new URL(request.url, 'http://x');
        url.searchParams.set('cursor', history.next);
        reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
      }
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
