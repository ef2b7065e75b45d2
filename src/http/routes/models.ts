import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModelsService } from '../../services/models.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { decimalString, problemResponses } from '../schemas.js';

const model = z.object({ id: z.uuid(), name: z.string(), accountId: z.uuid(), createdAt: z.date() }).meta({ id: 'Model' });
const modelParams = z.object({ modelId: z.uuid() });

export const modelRoutes: FastifyPluginAsyncZod<{ models: ModelsService }> = async (app, { models }) => {
  app.post(
    '/v1/models',
    {
      config: { access: ['author'] },
      schema: {
        tags: ['models'],
        summary: 'Register a model (name: [a-z0-9_]{1,40}, globally unique)',
        body: z.strictObject({ name: z.string() }),
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

  app.put(
    '/v1/models/:modelId/stake',
    {
      config: { access: ['author'], scope: 'stake' },
      schema: {
        tags: ['models'],
        summary: 'Set the stake (exact decimal ≥ 0); the owner only',
        params: modelParams,
        body: z.strictObject({ amount: z.union([z.string(), z.number()]) }),
        response: { 200: z.object({ modelId: z.uuid(), amount: decimalString }), ...problemResponses },
      },
    },
    async (request) => models.setStake(requirePrincipal(request), request.params.modelId, request.body.amount),
  );

  app.get(
    '/v1/models/:modelId/stake',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['models'],
        summary: 'The stake and its append-only history; owner, operators and admins',
        params: modelParams,
        response: {
          200: z.object({
            modelId: z.uuid(),
            amount: decimalString,
            history: z.array(
              z.object({ kind: z.enum(['set', 'payout']), delta: decimalString, balance: decimalString, era: z.number().nullable(), at: z.date() }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      await models.getReadable(request.params.modelId, requirePrincipal(request));
      return models.stake(request.params.modelId);
    },
  );
};
