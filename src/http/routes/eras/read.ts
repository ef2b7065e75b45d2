import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { presentEra, type ErasService } from '../../../services/eras.js';
import { ANY_KEY } from '../../plugins/auth.js';
import { eraParams, eraStatus, problemResponses } from '../../schemas.js';
import { era } from './schemas.js';

export const readEras: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, { eras }) => {
  app.get(
    '/v1/eras',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['eras'],
        summary: 'Every era, or those of one status',
        description: 'With `?status=open`: the eras open now, the one closing soonest first (the era to submit to). Other statuses are listed by number.',
        querystring: z.object({ status: eraStatus.optional() }),
        response: { 200: z.object({ eras: z.array(era) }), ...problemResponses },
      },
    },
    async (request) => {
      const now = new Date();
      const { status } = request.query;
      const listed = (await eras.list()).map((e) => presentEra(e, now)).filter((e) => status === undefined || e.status === status);
      if (status === 'open') listed.sort((a, b) => a.closesAt.getTime() - b.closesAt.getTime() || a.number - b.number);
      return { eras: listed };
    },
  );

  app.get(
    '/v1/eras/:number',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['eras'], summary: 'One era', params: eraParams, response: { 200: era, ...problemResponses } },
    },
    async (request) => presentEra(await eras.get(request.params.number), new Date()),
  );
};
