import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PoliciesService } from '../../../services/policies.js';
import { STAFF } from '../../plugins/auth.js';
import { policyRef, problemResponses } from '../../schemas.js';
import { id } from './schemas.js';

const MAX_REPLAY_ERAS = 260;

const body = z.strictObject({ lastEras: z.number().int().min(1).max(MAX_REPLAY_ERAS).describe(`how many of the latest resolved eras, 1–${MAX_REPLAY_ERAS}`) });

const replayedEra = z.object({
  era: z.number().int(),
  target: z.string().describe("the era's main target (its latest version)"),
  unconstrained: z.number().nullable().describe("numerai_corr of the unconstrained M: the era report's `performanceCost[].unconstrained` on the main target"),
  traded: z.number().nullable().describe('numerai_corr of the value this version would have published'),
  cost: z.number().nullable().describe('unconstrained − traded'),
  spearman: z.number().nullable().describe("Spearman of this version's S with M over the tradable ids"),
  excluded: z.number().int().describe('ids it would have excluded'),
});

const replay = z.object({
  policy: policyRef,
  eras: z.array(replayedEra).describe('oldest first'),
  summary: z.object({
    eras: z.number().int().describe('eras with a cost'),
    meanCost: z.number().nullable(),
    stdCost: z.number().nullable().describe('population standard deviation (ddof 0)'),
    cumulativeCost: z.number().nullable(),
    worstEra: z.number().int().nullable().describe('the era where the cost was highest'),
  }),
});

export const replayPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.post(
    '/v1/policies/:id/replay',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: 'What a version would have cost on each of the last N resolved eras (main target, latest version), with a summary',
        description:
          "Each era's latest meta-model run (the one its report costs) under this version, enforced also when its mode is shadow: the cost is " +
          'unconstrained CORR − the CORR of the value it would have published, as in the era report. Nothing is stored. An era without a run or main target is left out.',
        params: id,
        body,
        response: { 200: replay, ...problemResponses },
      },
    },
    async (request) => policies.replay(request.params.id, request.body.lastEras),
  );
};
