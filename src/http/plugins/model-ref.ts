import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { ModelsService } from '../../services/models.js';

/**
 * A model may be named by id or by name wherever a path takes `:modelId` (http/schemas.ts
 * `modelRef`): before the handler runs, a name becomes the model's id, so handlers and services
 * only ever see ids.
 */
export const modelRefPlugin = fp(async (app: FastifyInstance, opts: { models: Pick<ModelsService, 'idOf'> }) => {
  const resolve: preHandlerAsyncHookHandler = async (request: FastifyRequest) => {
    const params = request.params as { modelId: string };
    params.modelId = await opts.models.idOf(params.modelId);
  };
  app.addHook('onRoute', (route) => {
    if (!route.url.includes(':modelId')) return;
    route.preHandler = [resolve, ...[route.preHandler ?? []].flat()];
  });
});
