import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseUniverse } from '../../ingest/universe.js';
import { presentEra, type ErasService } from '../../services/eras.js';
import { ANY_KEY, STAFF, requirePrincipal } from '../plugins/auth.js';
import { ingestBody, ingestValidator, sendCsv, wantsCsv } from '../body.js';
import { eraNumberField, eraParams, eraStatus, problemResponses, targetName } from '../schemas.js';

/** What each payout parameter does (docs/scoring-and-payouts.md has the formulas). */
const PAYOUT_DOCS = {
  corrMultiplier: 'Weight of CORR in the payout score (default 0.5).',
  mmcMultiplier: 'Weight of MMC in the payout score (default 2).',
  clip: 'Largest share of its at-risk stake a model can win or lose in this era (default 0.05, i.e. ±5 %).',
  stakeThreshold:
    'Total at-risk stake above which payouts are scaled down: payout factor pf = min(1, stakeThreshold / Σ at-risk stakes) (default 72000).',
} as const;
const PAYOUT_DESCRIPTION =
  "How a model's stake moves when the era resolves, on its main target: payout = stake × clip(pf × (corrMultiplier × CORR + mmcMultiplier × MMC), −clip, +clip), with pf = min(1, stakeThreshold / Σ at-risk stakes). A positive payout is added to the stake, a negative one burned from it.";

const payout = z
  .object({
    corrMultiplier: z.number().describe(PAYOUT_DOCS.corrMultiplier),
    mmcMultiplier: z.number().describe(PAYOUT_DOCS.mmcMultiplier),
    clip: z.number().describe(PAYOUT_DOCS.clip),
    stakeThreshold: z.number().describe(PAYOUT_DOCS.stakeThreshold),
  })
  .describe(PAYOUT_DESCRIPTION);

export const era = z
  .object({
    number: z.number().int(),
    status: eraStatus,
    opensAt: z.date(),
    closesAt: z.date(),
    closedAt: z.date().nullable(),
    resolvedAt: z.date().nullable(),
    mainTarget: z.string(),
    minCoverage: z.number(),
    payout,
    universeSize: z.number().int(),
    createdAt: z.date(),
  })
  .meta({ id: 'Era' });

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

export const eraRoutes: FastifyPluginAsyncZod<{ eras: ErasService }> = async (app, { eras }) => {
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
      const created = await eras.create(requirePrincipal(request).accountId, {
        ...rest,
        opensAt: opensAt ? new Date(opensAt) : undefined,
        closesAt: new Date(closesAt),
      });
      return reply.status(201).send(presentEra(created));
    },
  );

  app.get(
    '/v1/eras',
    { config: { access: ANY_KEY }, schema: { tags: ['eras'], summary: 'Every era', response: { 200: z.object({ eras: z.array(era) }), ...problemResponses } } },
    async () => {
      const now = new Date();
      return { eras: (await eras.list()).map((e) => presentEra(e, now)) };
    },
  );

  app.get(
    '/v1/eras/:number',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['eras'], summary: 'One era', params: eraParams, response: { 200: era, ...problemResponses } },
    },
    async (request) => presentEra(await eras.get(request.params.number)),
  );

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
        response: { 200: z.object({ era: z.number(), count: z.number() }), ...problemResponses },
      },
    },
    async (request) => {
      const rows = parseUniverse(ingestBody(request));
      return eras.replaceUniverse(requirePrincipal(request).accountId, request.params.number, rows);
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
      return { era: row.number, ids: universe.ids as string[] };
    },
  );
};
