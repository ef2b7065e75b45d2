import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ModelsService } from '../../services/models.js';
import type { SubmissionsService } from '../../services/submissions.js';
import { ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { ingestBody, ingestValidator } from '../body.js';
import { eraNumber, modelParams, problem, problemResponses } from '../schemas.js';

const receipt = z.object({
  id: z.uuid(),
  era: z.number(),
  modelId: z.uuid(),
  rows: z.number(),
  sha256: z.string(),
  late: z.boolean(),
  createdAt: z.date(),
});

const jsonSubmission = z.union([
  z.object({ ids: z.array(z.string()), predictions: z.array(z.number()) }),
  z.object({ rows: z.array(z.object({ id: z.string(), prediction: z.number() })) }),
]);

export const submissionRoutes: FastifyPluginAsyncZod<{ submissions: SubmissionsService; models: ModelsService }> = async (
  app,
  { submissions, models },
) => {
  app.post(
    '/v1/models/:modelId/submissions',
    {
      // The busiest route: the key is checked by store_submission in the write's own round trip,
      // and by the error handler before any refusal (refuseRevokedKeys).
      config: { access: ['author'], scope: 'submit', keyCheckedByWrite: true },
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['submissions'],
        summary: 'Submit predictions: text/csv `id,prediction` (or `id,probability`) or JSON; the era defaults to the one open now',
        description:
          'Every problem is reported at once (ids or lines, first 20 and a count) and nothing is stored. Re-posting identical content returns the existing submission with 200. After the era closes a submission is accepted as late: scored on arrival on the latest version of every target uploaded so far, never paid, and left out of performance and the leaderboard. ' +
          "After the era resolves one is still accepted (late) and scored on the era's final targets, for its author's own diagnostics only.",
        params: modelParams,
        querystring: z.object({ era: eraNumber.optional() }),
        body: jsonSubmission,
        response: { 200: receipt, 201: receipt, ...problemResponses, 413: problem, 415: problem },
      },
    },
    async (request, reply) => {
      const body = ingestBody(request);
      const { submission, created } = await submissions.submit(requirePrincipal(request), request.params.modelId, request.query.era, body);
      return reply.status(created ? 201 : 200).send(submission);
    },
  );

  app.get(
    '/v1/models/:modelId/submissions',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['submissions'],
        summary: "A model's submissions, newest first; owner, operators and admins",
        params: modelParams,
        response: {
          200: z.object({
            submissions: z.array(
              z.object({ id: z.uuid(), era: z.number(), rows: z.number(), sha256: z.string(), late: z.boolean(), superseded: z.boolean(), createdAt: z.date() }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      await models.getReadable(request.params.modelId, requirePrincipal(request));
      return { submissions: await submissions.list(request.params.modelId) };
    },
  );
};
