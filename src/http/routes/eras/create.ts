import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../../errors.js';
import { presentEra, type ErasService } from '../../../services/eras.js';
import { STAFF, requirePrincipal } from '../../plugins/auth.js';
import { eraNumberField, problemResponses, targetName } from '../../schemas.js';
import { PAYOUT_DESCRIPTION, PAYOUT_DOCS, era } from './schemas.js';

const newEra = z.strictObject({
  number: eraNumberField,
  opensAt: z.iso.datetime({ offset: true }).optional(),
  closesAt: z.iso.datetime({ offset: true }),
  mainTarget: targetName.optional(),
  minCoverage: z.number().gt(0).max(1).optional(),
  payout: z
    .strictObject({
      corrMultiplier: z.number().min(0).max(100).optional().describe(PAYOUT_DOCS.corrMultiplier),
      mmcMultiplier: z.number().min(0).max(100).optional().describe(PAYOUT_DOCS.mmcMultiplier),
      clip: z.number().gt(0).max(1).optional().describe(PAYOUT_DOCS.clip),
      stakeThreshold: z.number().gt(0).max(1e15).optional().describe(PAYOUT_DOCS.stakeThreshold),
    })
    .optional()
    .describe(`${PAYOUT_DESCRIPTION} Leave out any parameter to take its default.`),
});

export const createEra: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, { eras }) => {
  app.post(
    '/v1/eras',
    {
      config: { access: STAFF },
      schema: {
        tags: ['eras'],
        summary: 'Create an era (payout parameters default to corr 0.5, mmc 2, clip 0.05, threshold 72000)',
        body: newEra,
        response: { 201: era, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { opensAt, closesAt, ...rest } = request.body;
      const opens = opensAt ? new Date(opensAt) : new Date();
      const closes = new Date(closesAt);
      if (closes <= opens) {
        throw badRequest('closesAt must be after opensAt', [
          { path: 'body.closesAt', message: `closesAt ${closes.toISOString()} is not after opensAt ${opens.toISOString()}${opensAt ? '' : ' (now: opensAt left out)'}` },
        ]);
      }
      const created = await eras.create(requirePrincipal(request), { ...rest, opensAt: opens, closesAt: closes });
      return reply.status(201).send(presentEra(created, new Date()));
    },
  );
};
