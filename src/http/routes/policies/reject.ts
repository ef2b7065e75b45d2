import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { ADMIN, requirePrincipal } from '../../plugins/auth.js';
import { problemResponses } from '../../schemas.js';
import { id } from './schemas.js';

const body = z.strictObject({ reason: z.string().trim().min(1).max(2000).describe('why, shown to the author with the version') });

export const rejectPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.post(
    '/v1/policies/:id/reject',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary: 'Reject a draft with a reason (an admin other than its author): it can then be neither activated nor withdrawn',
        description:
          "403 for the draft's author (withdraw it instead). 409 when the version is not a draft (active, scheduled, retired or already rejected). " +
          'The version keeps status `rejected` and its `rejection` in GET /v1/policies; the audit log records `policy.reject` with the reason.',
        params: id,
        body,
        response: { 200: z.object({ id: z.uuid(), status: z.literal('rejected') }), ...problemResponses },
      },
    },
    async (request) => policies.reject(requirePrincipal(request), request.params.id, request.body.reason),
  );
};
