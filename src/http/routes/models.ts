import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODEL_NAME, MODEL_NAME_SHAPE } from '../../domain/names.js';
import { type ModelsService } from '../../services/models.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { exactJsonNumbers } from '../exact-json.js';
import { decimalString, fundsProblem, modelParams, moneyAmount, problemResponses } from '../schemas.js';

const model = z.object({ id: z.uuid(), name: z.string(), accountId: z.uuid(), createdAt: z.date() }).meta({ id: 'Model' });

const stakeView = z
  .object({
    modelId: z.uuid(),
    amount: decimalString,
    balance: decimalString,
    releasing: decimalString,
    atRisk: z.array(z.object({ era: z.number().int(), amount: decimalString })),
    pendingReleases: z.array(z.object({ amount: decimalString, requestedAt: z.date(), waitsForEras: z.array(z.number().int()) })),
    history: z.array(
      z.object({
        at: z.date(),
        kind: z.enum(['deposit', 'release_requested', 'released', 'payout', 'burn']),
        delta: decimalString,
        amount: decimalString,
        balance: decimalString,
        era: z.number().int().nullable(),
        note: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Stake' });

export const modelRoutes: FastifyPluginAsyncZod<{ models: ModelsService }> = async (app, { models }) => {
  app.post(
    '/v1/models',
    {
      config: { access: ['author'] },
      schema: {
        tags: ['models'],
        summary: `Register a model (name: ${MODEL_NAME_SHAPE}, globally unique)`,
        body: z.strictObject({ name: z.string().regex(MODEL_NAME, { message: `a model name matches ${MODEL_NAME_SHAPE}: lowercase letters, digits and underscores` }) }),
        response: { 201: model, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await models.create(requirePrincipal(request), request.body.name)),
  );

  app.get(
    '/v1/models',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['models'], summary: 'Models: an author sees their own, operators and admins all', response: { 200: z.object({ models: z.array(model) }), ...problemResponses } },
    },
    async (request) => ({ models: await models.list(requirePrincipal(request)) }),
  );

  // Money: JSON numbers in this scope arrive as the exact decimal written, never through a float.
  await app.register(async (scope) => {
    exactJsonNumbers(scope);
    scope.withTypeProvider<ZodTypeProvider>().put(
      '/v1/models/:modelId/stake',
      {
        config: { access: ['author'], scope: 'stake' },
        schema: {
          tags: ['models'],
          summary: 'Set the amount staked on eras that close from now on; the owner only',
          description:
            '`amount` is an exact decimal ≥ 0 with at most 18 decimal places: a string such as "125.5", or a JSON number with at most ' +
            '15 significant digits (so it reads back as the decimal written; longer numbers are refused with a 400 asking for a string). ' +
            'Raising the amount is a deposit, at once, paid from the owner\'s wallet (`GET /v1/me/wallet`): when the wallet holds less `available` ' +
            'than the raise, 409 `insufficient-funds` names what it holds (also in the problem\'s `available`) and nothing changes ' +
            '(under STAKE_FUNDING=open a raise needs no funds). Lowering it creates a pending release of the difference, which returns to the wallet ' +
            'when every era its stake is at risk in has resolved (at once when none), and can be burned until then. Replies with the stake view.',
          params: modelParams,
          body: z.strictObject({ amount: moneyAmount('stake') }),
          response: { 200: stakeView, ...problemResponses },
        },
      },
      async (request) => {
        try {
          return await models.setStake(requirePrincipal(request), request.params.modelId, request.body.amount);
        } catch (error) {
          throw fundsProblem(error, 'lower the stake');
        }
      },
    );
  });

  app.get(
    '/v1/models/:modelId/stake',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['models'],
        summary: 'The stake: balance, amount, releasing, at-risk stakes, pending releases and the ledger; owner, operators and admins',
        description:
          '`balance` is all the model holds; `amount` is what it stakes on eras that close from now on; `releasing` = balance − amount, ' +
          'held by `pendingReleases` until the eras each waits for resolve. `atRisk` lists the unresolved closed eras and the stake at risk in each. ' +
          '`history` is the ledger: every movement with its signed `delta` (0 for release_requested), the era, the amount and balance after it, and a note ' +
          'when a burn was cut at the balance or taken from pending releases. Every amount is an exact decimal string.',
        params: modelParams,
        response: { 200: stakeView, ...problemResponses },
      },
    },
    async (request) => models.stake(requirePrincipal(request), request.params.modelId),
  );
};
