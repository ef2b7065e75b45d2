import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { chainHeadSchema, CHAINS } from '../../../domain/heads.js';
import type { HeadsService } from '../../../services/heads.js';
import { INT4_MAX, problemResponses } from '../../schemas.js';

const heads = z
  .object({
    bundles: chainHeadSchema.describe('the chain of resolved eras\' bundles: one link per era, in the order they resolved'),
    audit: chainHeadSchema.describe('the audit log\'s chain: one link per entry, in id order (entries older than the chain are not counted)'),
  })
  .meta({ id: 'ChainHeads' });

const link = z.object({ position: z.number().int(), chainDigest: z.string() }).meta({ id: 'ChainLink' });

const params = z.object({
  chain: z.enum(CHAINS).describe('bundles or audit'),
  position: z.coerce.number().int().min(1).max(INT4_MAX).describe('1 is the chain\'s first link'),
});

/** The chains' heads, public: keep an answer, and later check the chains still extend it. */
export const headsRoute: FastifyPluginAsyncZod<{ heads: HeadsService }> = async (app, { heads: service }) => {
  app.get(
    '/v1/reports/heads',
    {
      config: { access: 'public' },
      schema: {
        tags: ['verification'],
        summary: 'How many links the era-bundle and audit-log chains hold and the chain digest of each one\'s last link',
        description:
          'Digests only, no content. Keep an answer (the Python client keeps it in ~/.stakeweight/heads.json); later, the chains must hold at least ' +
          'as many links and carry the same digest at the kept count (GET /v1/reports/heads/{chain}/{position}), or history was removed or rewritten.',
        response: { 200: heads, ...problemResponses },
      },
    },
    async () => service.heads(),
  );

  app.get(
    '/v1/reports/heads/:chain/:position',
    {
      config: { access: 'public' },
      schema: {
        tags: ['verification'],
        summary: 'The chain digest of one link of the era-bundle or audit-log chain (digest only, no content)',
        description: '`/v1/reports/heads/audit/{position}` and `/v1/reports/heads/bundles/{position}`; 404 past the chain\'s end.',
        params,
        response: { 200: link, ...problemResponses },
      },
    },
    async (request) => service.digestAt(request.params.chain, request.params.position),
  );
};
