import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { presentEra, type ErasService } from '../../../services/eras.js';
import { ANY_KEY } from '../../plugins/auth.js';
import { eraParams, problemResponses } from '../../schemas.js';
import { era } from './schemas.js';

export const readEras: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, { eras }) => {
  app.get(
    '/v1/eras',
    { config: { access: ANY_KEY }, schema: { tags: ['eras'], summary: 'Every era', response: { 200: z.object({ eras: z.array(era) }), ...problemResponses } } },
    async () => {
      const now = new Date();
      return { eras: (await eras.list()).map((e) => presentEra(e, now)) };
    },
  );

  app.get(
    '/v1/eras/:number',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['eras'], summary: 'One era', params: eraParams, response: { 200: era, ...problemResponses } },
    },
    async (request) => presentEra(await eras.get(request.params.number)),
  );
};
