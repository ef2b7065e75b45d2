import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eraStatus } from '../../domain/era.js';
import type { MetaModelService } from '../../services/metamodel.js';
import { STAFF, requirePrincipal } from '../plugins/auth.js';
import { sendCsv, wantsCsv } from '../body.js';
import { decimalString, eraParams as params, eraStatus as status, policyRef, problemResponses } from '../schemas.js';

const runInput = z.object({ modelId: z.uuid(), submissionId: z.uuid(), sha256: z.string(), stake: decimalString });

const run = z
  .object({
    id: z.uuid(),
    era: z.number().int(),
    seq: z.number().int().describe('1 for the closing run, then one more per recompute'),
    trigger: z.enum(['close', 'recompute']),
    computedAt: z.date(),
    durationMs: z.number(),
    policy: policyRef.nullable().describe('the policy version applied; null when none was in force'),
    models: z.number().int().describe('models with at-risk stake > 0 and a current on-time submission'),
    totalStake: decimalString.describe('sum of their at-risk stakes, exact'),
    tradable: z.number().int(),
    inputs: z.array(runInput).optional().describe('with ?inputs=true: the submission (by digest) and stake of each model'),
  })
  .meta({ id: 'MetaModelRun' });

export const metaModelRoutes: FastifyPluginAsyncZod<{ metaModel: MetaModelService }> = async (app, { metaModel }) => {
  app.post(
    '/v1/eras/:number/close',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meta-model'],
        summary: 'Close an era now and compute its meta-model; idempotent (a closed era returns its closing run)',
        description:
          'Snapshots the at-risk stakes (each model’s stake at the earlier of closesAt and now, counted when positive and the model has a current on-time submission) and computes run 1. Submissions arriving afterwards are late. The service also closes every era by itself at closesAt.',
        params,
        response: { 200: z.object({ era: z.number().int(), status, run }), ...problemResponses },
      },
    },
    async (request) => {
      const closed = await metaModel.closeEra(requirePrincipal(request), request.params.number);
      return { era: closed.era.number, status: eraStatus(closed.era, new Date()), run: closed.run };
    },
  );

  app.get(
    '/v1/eras/:number/meta-model',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meta-model'],
        summary: 'The latest meta-model run of a closed era, one row per live id; `Accept: text/csv` for `id,value` of the tradable ids',
        description:
          '`unconstrained` is the stake-weighted mean of gaussianized tie-kept ranks; `value` is the tie-kept rank of the traded signal over the tradable ids (null for an excluded id); `excludedBy` names the exclusion rules that matched. 404 until the era is closed.',
        params,
        response: {
          200: z.object({
            era: z.number().int(),
            run: run.pick({ id: true, computedAt: true, policy: true, models: true, totalStake: true }),
            rows: z.array(z.object({ id: z.string(), value: z.number().nullable(), unconstrained: z.number(), excludedBy: z.array(z.string()) })),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const latest = await metaModel.latestRun(request.params.number);
      if (wantsCsv(request)) {
        const lines = latest.rows.filter((r) => r.value !== null).map((r) => `${r.id},${r.value}`);
        return sendCsv(reply, `id,value\n${lines.map((l) => `${l}\n`).join('')}`);
      }
      const { id, computedAt, policy, models, totalStake } = latest.run;
      return { era: latest.era, run: { id, computedAt, policy, models, totalStake }, rows: latest.rows };
    },
  );

  app.post(
    '/v1/eras/:number/meta-model/compute',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meta-model'],
        summary: 'Recompute the meta-model of a closed era as a new run (e.g. after a policy or universe correction)',
        description: 'Uses the inputs snapshotted at close (same submissions, same stakes). 409 before the era closes or once it is resolved.',
        params,
        response: { 200: run, ...problemResponses },
      },
    },
    async (request) => metaModel.recompute(requirePrincipal(request), request.params.number),
  );

  app.get(
    '/v1/eras/:number/meta-model/runs',
    {
      config: { access: STAFF },
      schema: {
        tags: ['meta-model'],
        summary: 'Lineage: every run of the era, oldest first; `?inputs=true` adds the submissions and stakes that went in',
        params,
        querystring: z.object({ inputs: z.enum(['true', 'false']).default('false') }),
        response: { 200: z.object({ era: z.number().int(), runs: z.array(run) }), ...problemResponses },
      },
    },
    async (request) => metaModel.runs(request.params.number, { inputs: request.query.inputs === 'true' }),
  );
};
