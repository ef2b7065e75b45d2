import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BundlesService } from '../../services/bundles.js';
import { ANY_KEY } from '../plugins/auth.js';
import { decimalString, eraParams, problemResponses } from '../schemas.js';
import { payoutParams } from './eras/schemas.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const vector = z.array(z.number().nullable());

const bundle = z
  .object({
    era: z.number().int(),
    closedAt: z.string().describe('ISO 8601, UTC'),
    resolvedAt: z.string().describe('ISO 8601, UTC'),
    mainTarget: z.string().describe('the target payouts are computed on'),
    policy: z
      .object({ name: z.string(), version: z.number().int(), sha256: sha256.describe('SHA-256 of the RFC 8785 form of the policy document') })
      .nullable()
      .describe('the policy the traded meta-model applied; null when none was in force'),
    payout: payoutParams,
    payoutFactor: z.number().describe('min(1, stakeThreshold / totalAtRisk)'),
    totalAtRisk: decimalString,
    ids: z.array(z.string()).describe('the universe, in order: every vector below is aligned to it'),
    value: vector.describe('the published value (tie-kept rank of the traded signal over the tradable ids); null for excluded ids'),
    unconstrained: vector.describe('the unconstrained stake-weighted meta-model M'),
    targets: z.record(z.string(), vector).describe('the latest version of every target; null for ids without one'),
    models: z.array(
      z.object({
        model: z.string(),
        stake: decimalString.describe('at-risk stake'),
        submissionSha256: sha256.describe('the digest the author got back on upload'),
        corr: z.number().nullable(),
        mmc: z.number().nullable(),
        payout: decimalString.nullable(),
      }),
    ),
    digest: sha256.describe('SHA-256 of the RFC 8785 (JCS) form of this object without digest, chainDigest and previousChainDigest'),
    previousChainDigest: sha256.describe('the chainDigest of the era resolved before this one; 64 zeros for the first'),
    chainDigest: sha256.describe('SHA-256 of the text previousChainDigest ‖ digest'),
  })
  .meta({ id: 'EraBundle' });

export const bundleRoutes: FastifyPluginAsyncZod<{ bundles: BundlesService }> = async (app, { bundles }) => {
  app.get(
    '/v1/eras/:number/bundle',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['verification'],
        summary: "A resolved era's verification bundle: recompute its digest, its chain and your own CORR, MMC and payout",
        description:
          'Fixed when the era resolves and served as the stored bytes (its RFC 8785 canonical JSON), byte for byte the same on every request and replica. ' +
          '409 until the era resolves, 404 for an unknown era. `clients/python/stakeweight/recompute.py` in the repository recomputes a model from it.',
        params: eraParams,
        response: { 200: bundle, ...problemResponses },
      },
    },
    async (request, reply) => {
      const bytes = await bundles.served(request.params.number);
      // The stored bytes as they are: re-serialising could change them, and their digest with them.
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(bytes);
    },
  );
};
