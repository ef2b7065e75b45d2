import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ErasService } from '../../services/eras.js';
import { createEra } from './eras/create.js';
import { readEras } from './eras/read.js';
import { universeRoutes } from './eras/universe.js';

export { era } from './eras/schemas.js';

/** The era routes, by concern under eras/ (schemas beside their handler), in the order the API docs list them. */
export const eraRoutes: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, options) => {
  await app.register(createEra, options);
  await app.register(readEras, options);
  await app.register(universeRoutes, options);
};
