import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScoringService } from '../../services/scoring.js';
import { STAFF, requirePrincipal } from '../plugins/auth.js';
import { ingestBody, ingestValidator } from '../body.js';
import { problem, problemResponses } from '../schemas.js';

const params = z.object({
  number: z.coerce.number().int().min(0).max(2_147_483_647),
  target: z.string().regex(/^[A-Za-z0-9_]{1,64}$/),
});

export const targetRoutes: FastifyPluginAsyncZod<{ scoring: ScoringService }> = async (app, { scoring }) => {
  app.put(
    '/v1/eras/:number/targets/:target',
    {
      config: { access: STAFF },
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['scores'],
        summary: 'Upload (or replace) one target of a closed era: text/csv `id,target` or JSON `{ids, values}`; scores every current submission on it',
        description:
          'Values are finite and in [0, 1]; ids must be live ids of the era (ids without a row have no target). Every problem is reported at once and nothing changes. ' +
          'The era must be closed (scoring needs its traded meta-model); after resolution targets are frozen (409). ' +
          '`scored` counts the current submissions (on-time and late) given a score row, including those whose status says why they have no score.',
        params,
        body: z.object({ ids: z.array(z.string()), values: z.array(z.number()) }),
        response: {
          200: z.object({ era: z.number().int(), target: z.string(), count: z.number().int(), scored: z.number().int() }),
          ...problemResponses,
          413: problem,
          415: problem,
        },
      },
    },
    async (request) =>
      scoring.uploadTarget(requirePrincipal(request).accountId, request.params.number, request.params.target, ingestBody(request)),
  );
};
