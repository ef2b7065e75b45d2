import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { ADMIN, requirePrincipal } from '../../plugins/auth.js';
import { problemResponses } from '../../schemas.js';
import { id } from './schemas.js';

export const withdrawPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.delete(
    '/v1/policies/:id',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary: 'Withdraw your own draft (204): it is deleted, and when it was the latest version of its name the next draft of that name takes its number again',
        description:
          'Only the author may withdraw (403 for anyone else: another admin rejects instead). A version that is active, scheduled, retired or rejected, or that was ever scheduled, ' +
          'is part of the history and stays: 409. The audit log keeps the withdrawal (`policy.withdraw`) and the document as created (`policy.create`).',
        params: id,
        response: { 204: z.null().describe('withdrawn'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await policies.withdraw(requirePrincipal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
