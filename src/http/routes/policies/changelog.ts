import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { problemResponses } from '../../schemas.js';
import { policyChange } from './schemas.js';

const changelog = z.object({
  nextEra: z.number().int(),
  entries: z.array(
    z.object({
      name: z.string(),
      version: z.number().int(),
      status: z.enum(['active', 'scheduled', 'retired']),
      fromEra: z.number().int(),
      toEra: z.number().int().nullable(),
      coversNoEra: z.boolean().describe('replaced by a later activation from the same era: no era closed under it'),
      activatedAt: z.date(),
      scheduled: z.boolean().describe('activated from a named era rather than at once'),
      reason: z.string(),
      description: z.string().nullable(),
      rules: policyChange.rules,
      fields: policyChange.fields.describe('other fields that differ (mode, onMissingData, neutralize, groupCap, …)'),
    }),
  ),
});

export const policyChangelog: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.get(
    '/v1/policies/changelog',
    {
      config: { access: 'public' },
      schema: {
        tags: ['policies'],
        summary: 'Every version that took force or is scheduled, oldest first: from which era, why, and which rules it added, removed or changed',
        description:
          'One entry per activation (a schedule replaced before it took force is left out). `fromEra`..`toEra` are the closed eras it governed: ' +
          '`toEra` is the last era closed under it once a successor has taken force, null while it is in force or `scheduled` (no era from `fromEra` has closed yet); rules are compared by id with the version in force before, each with its public rationale and reference.',
        response: { 200: changelog, ...problemResponses },
      },
    },
    async () => policies.changelog(),
  );
};
