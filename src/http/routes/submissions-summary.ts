import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SubmissionsService } from '../../services/submissions.js';
import { STAFF } from '../plugins/auth.js';
import { decimalString, eraParams, problemResponses } from '../schemas.js';

const summary = z.object({
  era: z.number().int(),
  submitted: z.number().int().describe('current on-time submissions'),
  staked: z.number().int().describe('of those, the ones whose model has stake at the cutoff (now while the era is open)'),
  late: z.number().int().describe('current late submissions'),
  atRisk: decimalString.describe('Σ stake at the cutoff of the staked on-time submissions: what a close now takes (the closing run took it once closed)'),
  duplicates: z
    .array(z.object({ models: z.array(z.string()).describe('model names, sorted'), spearman: z.number().describe('the weakest link that joined the group; 1 for identical ranks') }))
    .describe('groups of current submissions (on time or late) from at least two accounts, linked by Spearman ≥ 0.99 of their ranks, closest first'),
  duplicatesComplete: z.boolean().describe('false when the bound on exact comparisons stopped the near-duplicate search early (identical copies are always found)'),
  missing: z.array(z.string()).describe('models with stake at the cutoff and no current on-time submission, by name'),
});

export const submissionSummaryRoutes: FastifyPluginAsyncZod<{ submissions: SubmissionsService }> = async (app, { submissions }) => {
  app.get(
    '/v1/eras/:number/submissions/summary',
    {
      config: { access: STAFF },
      schema: {
        tags: ['submissions'],
        summary: "An era's submissions at a glance: counts, at-risk stake, staked models that have not submitted, near-duplicate submissions across accounts",
        description:
          'Spearman is the Pearson correlation of the tie-kept ranks over the universe (an id a submission leaves out at 0.5), read from the stored rank codes. ' +
          'Identical rankings are bucketed by digest; near ones are found by random projections of the ranks and checked exactly, so the cost grows about linearly ' +
          'with the number of models (docs/scoring-and-payouts.md).',
        params: eraParams,
        response: { 200: summary, ...problemResponses },
      },
    },
    async (request) => submissions.summary(request.params.number),
  );
};
