import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { policySchema } from '../../../domain/policy/schema.js';
import type { PoliciesService } from '../../../services/policies.js';
import { problemResponses } from '../../schemas.js';

const inForce = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  fromEra: z.number().int().describe('the first era it applies to'),
  activatedAt: z.date(),
  reason: z.string().describe('the reason its approver gave'),
  document: policySchema,
});

const active = z.object({
  id: z.uuid().nullable(),
  name: z.string().nullable(),
  version: z.number().int().nullable(),
  fromEra: z.number().int().nullable(),
  activatedAt: z.date().nullable(),
  reason: z.string().nullable(),
  document: policySchema.nullable(),
  nextEra: z.number().int().describe('the first era whose cutoff has not passed'),
  upcoming: inForce.nullable(),
});

export const activePolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.get(
    '/v1/policies/active',
    {
      config: { access: 'public' },
      schema: {
        tags: ['policies'],
        summary: 'The policy in force and the one scheduled to take force (public: the rules are not a secret, the holdings are)',
        description:
          'The version in force governs the eras that closed since it took force and, unless a version is `upcoming`, the next era to close (`nextEra`); ' +
          '`upcoming` is a version scheduled from `nextEra` or a later era (it takes force when the first era it governs closes), or null. ' +
          'The current fields are null when nothing is in force yet but a version is scheduled; 404 when neither.',
        response: { 200: active, 404: problemResponses[404] },
      },
    },
    async () => {
      const { current, upcoming, nextEra } = await policies.active();
      return {
        id: current?.id ?? null,
        name: current?.name ?? null,
        version: current?.version ?? null,
        fromEra: current?.fromEra ?? null,
        activatedAt: current?.activatedAt ?? null,
        reason: current?.reason ?? null,
        document: current?.document ?? null,
        nextEra,
        upcoming,
      };
    },
  );
};
