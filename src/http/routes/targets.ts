import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScoringService } from '../../services/scoring.js';
import { STAFF, requirePrincipal } from '../plugins/auth.js';
import { ingestValidator, jsonAsText, targetBody } from '../body.js';
import { eraNumber, eraParams, problem, problemResponses, targetName } from '../schemas.js';

const VERSIONS =
  'Every upload before resolution is a new version of the target, kept with its scores (1 for the first); the current score is the one on the latest version, and resolution pays on the latest version of the main target. ' +
  'Values are finite and in [0, 1]; ids must be live ids of the era (ids without a row have no target). Every problem is reported at once and nothing changes. ' +
  'The era must be closed (scoring needs its traded meta-model); after resolution its targets are final (409). ' +
  "A version of the era's main target must vary and cover at least 80 % of the universe (scoring's overlap rule), else it is refused (400: `constant_target`, `insufficient_coverage`), since resolution would pay nothing. " +
  'A JSON body that repeats a key in one object is refused (400: `duplicate_keys`). ' +
  '`scored` counts the current submissions (on-time and late) given score rows, including those whose status says why they have no score.';

const uploadResponses = { ...problemResponses, 413: problem, 415: problem };

export const targetRoutes: FastifyPluginAsyncZod<{ scoring: ScoringService }> = async (app, { scoring }) => {
  // JSON bodies reach the ingest layer as text: it refuses too many targets and repeated keys before parsing, on a worker when large.
  jsonAsText(app);
  app.put(
    '/v1/eras/:number/targets/:target',
    {
      config: { access: STAFF },
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['scores'],
        summary: 'Upload a new version of one target of a closed era: text/csv `id,target` or JSON `{ids, values}`; scores every current submission on it',
        description: VERSIONS,
        params: z.object({ number: eraNumber, target: targetName }),
        body: z.object({ ids: z.array(z.string()), values: z.array(z.number()) }),
        response: {
          200: z.object({ era: z.number().int(), target: z.string(), version: z.number().int(), count: z.number().int(), scored: z.number().int() }),
          ...uploadResponses,
        },
      },
    },
    async (request) =>
      scoring.uploadTarget(requirePrincipal(request), request.params.number, request.params.target, targetBody(request)),
  );

  app.put(
    '/v1/eras/:number/targets',
    {
      config: { access: STAFF },
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['scores'],
        summary: 'Upload a new version of several targets at once: text/csv `id,<target>,<target>…` or JSON `{ids, targets: {name: [values]}}`; scores every current submission on all of them in one pass',
        description:
          `${VERSIONS} Each column is checked as a one-target upload is: a problem with values names its column (\`column\`), a problem with ids or rows is reported once. ` +
          'The submissions are read once and scored on every target of the upload, so 20 targets cost far less than 20 uploads. ' +
          'At most TARGETS_MAX_COLUMNS targets (64 by default) per upload: more is refused (400: `too_many_columns`) from the CSV header or the JSON keys, before any value is read.',
        params: eraParams,
        body: z.object({ ids: z.array(z.string()), targets: z.record(z.string(), z.array(z.number())) }),
        response: {
          200: z.object({
            era: z.number().int(),
            targets: z.array(z.object({ target: z.string(), version: z.number().int(), count: z.number().int() })),
            scored: z.number().int(),
          }),
          ...uploadResponses,
        },
      },
    },
    async (request) => scoring.uploadTargets(requirePrincipal(request), request.params.number, targetBody(request)),
  );
};
