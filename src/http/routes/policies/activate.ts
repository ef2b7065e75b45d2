import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { ADMIN, requirePrincipal } from '../../plugins/auth.js';
import { eraNumberField, problemResponses } from '../../schemas.js';
import { id } from './schemas.js';

const body = z.strictObject({ reason: z.string().trim().min(1).max(2000), fromEra: eraNumberField.optional() });

const activated = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  status: z.enum(['active', 'scheduled']),
  fromEra: z.number().int(),
  activatedAt: z.date(),
  retired: z.uuid().nullable().describe('the version this one replaced now (null when scheduled)'),
});

export const activatePolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.post(
    '/v1/policies/:id/activate',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary:
          'Put a version in force, at once or from a named era (`fromEra`: scheduled until that era closes); with POLICY_FOUR_EYES (default) the author may not activate it.',
        description:
          'At once, it applies to every era whose cutoff has not passed (from `nextEra` of GET /v1/policies/active). With `fromEra`, the eras before it close under the ' +
          'version in force now and era `fromEra` on under this one; the reply\'s `status` is `scheduled` until the first era from `fromEra` closes, ' +
          'also when `fromEra` is the era open now. A later activation replaces a schedule that has not taken force. Activating the version ' +
          'already in force with nothing scheduled is 409; a `fromEra` whose cutoff has passed is 409. A version whose constraints leave fewer than 2 distinct tradable values ' +
          'on an era it would meet first (every open era with a universe and a staked submission, and the latest era with a run) is 409 naming the era and the rules; ' +
          'the preview shows the same conflict per era.',
        params: id,
        body,
        response: { 200: activated, ...problemResponses },
      },
    },
    async (request) => policies.activate(requirePrincipal(request), request.params.id, request.body.reason, request.body.fromEra),
  );
};
