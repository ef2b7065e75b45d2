import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { STAFF } from '../../plugins/auth.js';
import { policyRef, problemResponses } from '../../schemas.js';
import { id, policyChange } from './schemas.js';

const diff = z.object({ from: policyRef, to: policyRef, ...policyChange });

export const policyDiff: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.get(
    '/v1/policies/:id/diff',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: 'What changed from version `against` to this one: rules added, removed and changed (by rule id) and every other field that differs',
        params: id,
        querystring: z.object({ against: z.uuid() }),
        response: { 200: diff, ...problemResponses },
      },
    },
    async (request) => policies.diff(request.params.id, request.query.against),
  );
};
