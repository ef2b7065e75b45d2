import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ErasService } from '../../../services/eras.js';
import { ingestBody, ingestValidator, sendCsv, wantsCsv } from '../../body.js';
import { ANY_KEY, STAFF, requirePrincipal } from '../../plugins/auth.js';
import { eraParams, problemResponses } from '../../schemas.js';

const universeRow = z.object({
  id: z.string(),
  sector: z.string().nullish(),
  industry: z.string().nullish(),
  country: z.string().nullish(),
  tags: z.array(z.string()).optional(),
  attributes: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
});

/** Universes with attributes for 20,000+ ids are larger than submissions. */
const UNIVERSE_BODY_LIMIT = 64 * 1024 * 1024;

export const universeRoutes: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, { eras }) => {
  app.put(
    '/v1/eras/:number/universe',
    {
      config: { access: STAFF },
      bodyLimit: UNIVERSE_BODY_LIMIT,
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['eras'],
        summary: 'Set the era universe (CSV whose header names its columns, or JSON rows); fixed after the first submission',
        description: [
          'The live ids of the era and their private attributes, which the exclusion policy reads. Replaceable until the first submission arrives.',
          '',
          '**CSV** (`Content-Type: text/csv`): the header names the columns. `id` is required; `sector`, `industry`, `country` and `tags` are optional and may come in any order; every other column is a numeric or text attribute (name: 1–64 of `A–Z a–z 0–9 _`), such as `thermal_coal_revenue_share`. `tags` holds `;`-separated tags (`tobacco;controversial_weapons`). An empty cell means no value. A header of just `id,sector` is fine. A column without a name (pandas writes its index that way: save with `to_csv(index=False)`) or a name used twice is refused, naming it.',
          '',
          '**JSON** (`Content-Type: application/json`): `{"rows": [{"id": "...", "sector": "...", "industry": "...", "country": "...", "tags": ["..."], "attributes": {"name": 0.1}}]}`; every field but `id` is optional.',
          '',
          'Ids are 1–64 characters of `A–Z a–z 0–9 _ . -`, each once. The body may be up to 64 MB.',
        ].join('\n'),
        params: eraParams,
        body: z.object({ rows: z.array(universeRow) }),
        response: {
          200: z.object({
            era: z.number(),
            count: z.number().describe('ids in the universe'),
            columns: z
              .object({
                numbers: z.array(z.string()).describe('attributes whose every value reads as a number (policy rules compare them with gt, gte, lt, lte)'),
                codes: z.array(z.string()).describe('sector, industry, country and attributes whose every value is text (policy rules match them as exact codes: eq, neq, in, notIn)'),
                mixed: z.array(z.string()).describe('attributes holding both numbers and text: each value is kept as it reads; check for typos such as "n/a"'),
                tags: z.array(z.string()).describe('the tags column, when any id has a tag'),
              })
              .describe('how each column that holds a value was read'),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      return eras.replaceUniverse(requirePrincipal(request), request.params.number, ingestBody(request));
    },
  );

  app.get(
    '/v1/eras/:number/live-ids',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['eras'],
        summary: 'The live ids of an era (ids only); `Accept: text/csv` for one id per line',
        params: eraParams,
        response: { 200: z.object({ era: z.number(), ids: z.array(z.string()) }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const row = await eras.get(request.params.number);
      const universe = await eras.universeIndex(row);
      if (wantsCsv(request)) {
        return sendCsv(reply, `id\n${universe.ids.join('\n')}\n`);
      }
      return { era: row.number, ids: universe.ids };
    },
  );
};
