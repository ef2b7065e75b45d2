import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { ADMIN } from '../../plugins/auth.js';
import { problemResponses } from '../../schemas.js';
import { id, policyDetail, policySummary } from './schemas.js';

export const listPolicies: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.get(
    '/v1/policies',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary: 'Every policy version, by name then newest version first',
        querystring: z.object({ name: z.string().min(1).optional() }),
        response: { 200: z.object({ policies: z.array(policySummary) }), ...problemResponses },
      },
    },
    async (request) => ({ policies: await policies.list({ name: request.query.name }) }),
  );
};

export const getPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.get(
    '/v1/policies/:id',
    {
      config: { access: ADMIN },
      schema: { tags: ['policies'], summary: 'One policy version with its document', params: id, response: { 200: policyDetail, ...problemResponses } },
    },
    async (request) => policies.get(request.params.id),
  );
};
