import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { policySchema, predicateSchema } from '../../domain/policy/schema.js';
import type { PoliciesService } from '../../services/policies.js';
import { ingestValidator } from '../body.js';
import { ADMIN, STAFF, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const MAX_PREVIEW_ERAS = 50;

// Predicates nest, so OpenAPI needs a named component to refer back to.
if (!z.globalRegistry.has(predicateSchema)) z.globalRegistry.add(predicateSchema, { id: 'PolicyPredicate' });

const accountRef = z.object({ id: z.uuid(), name: z.string() });
const status = z.enum(['draft', 'active', 'retired']);

const policySummary = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  status,
  description: z.string().nullable(),
  mode: z.enum(['enforce', 'shadow']),
  author: accountRef,
  createdAt: z.date(),
  activatedAt: z.date().nullable().describe('latest activation; earlier ones are in the audit log'),
  activatedBy: accountRef.nullable(),
  retiredAt: z.date().nullable(),
});

const policyDetail = policySummary.extend({ document: policySchema }).meta({ id: 'Policy' });

const ruleEffect = z.object({
  ruleId: z.string(),
  description: z.string().nullable(),
  action: z.looseObject({ type: z.enum(['exclude', 'scale', 'observe']) }),
  matched: z.number().int(),
  missingData: z.number().int().describe('ids whose verdict depended on a value they lack'),
  excluded: z.number().int().describe('ids the rule excluded, side-limited ones included (they stay tradable)'),
  observed: z.number().int(),
  share: z.number().describe('ids the rule acted on (excluded, observed or scaled) over the universe size'),
});

const eraPreview = z.object({
  era: z.number().int(),
  run: z.object({ id: z.uuid(), seq: z.number().int() }).describe('the run whose unconstrained meta-model was used'),
  universeSize: z.number().int(),
  tradable: z.number().int(),
  excluded: z.object({ count: z.number().int(), share: z.number() }),
  observed: z.object({ count: z.number().int(), share: z.number() }),
  byRule: z.array(ruleEffect),
  sectorTilt: z
    .array(z.object({ sector: z.string(), ids: z.number().int(), before: z.number().nullable(), after: z.number().nullable() }))
    .describe('mean of M (before) and of the traded signal S over tradable ids (after) per sector; sectors under 5 ids folded into "other"'),
  spearman: z.number().nullable().describe('Spearman correlation of S with M over the tradable ids'),
  turnover: z
    .object({
      previousEra: z.number().int(),
      sector: z.number(),
      sectorUnconstrained: z.number(),
      excludedShareChange: z.number(),
    })
    .nullable()
    .describe(
      'Against the closest earlier era with a run, under the same version. Ids are new every era, so turnover is measured on sectors: ' +
        'the book is w_i = (S_i − mean S) / Σ|S_j − mean S| over tradable ids, a sector’s exposure is the sum of its w_i, and `sector` is ' +
        '½ Σ |exposure − previous exposure| over sectors, in [0, 1]. `sectorUnconstrained` is the same for M over every id; ' +
        '`excludedShareChange` is this era’s excluded share minus the previous one. Null when no earlier era has a run.',
    ),
});

const previewBody = z.strictObject({
  eras: z
    .array(z.number().int().min(0))
    .min(1)
    .max(MAX_PREVIEW_ERAS)
    .superRefine((eras, ctx) => {
      const seen = new Set<number>();
      eras.forEach((era, i) => {
        if (seen.has(era)) ctx.addIssue({ code: 'custom', path: [i], message: `era ${era} is listed twice` });
        seen.add(era);
      });
    }),
});

const id = z.object({ id: z.uuid() });

/** The rule language, as the API docs show it on POST /v1/policies (docs/policies.md has the long form). */
const RULE_LANGUAGE = [
  'A policy is a JSON document: `name`, optional `description`, `mode` (`enforce`, or `shadow`: computed and reported, not applied), `onMissingData` (`ignore`: a comparison on a value an id lacks does not match; or `exclude`: such an id is excluded), `rules`, and optional `neutralize` and `groupCap`.',
  '',
  '**Rules**: `{"id": "tobacco", "description": "…", "match": <predicate>, "action": <action>}`; rule ids are unique in a document.',
  '',
  '**Predicates**: `{"all": [p, …]}`, `{"any": [p, …]}`, `{"not": p}` or a comparison `{"field": f, "op": o, "value": v}`. Fields: `id`, `sector`, `industry`, `country`, `tags`, `attributes.<name>`. Ops: `eq`, `neq`, `in`, `notIn` (a list), `gt`, `gte`, `lt`, `lte` (attributes only), `prefix` (strings: `"3020"` covers every GICS code below it), `contains` (a tag, `tags` only), `exists`, `missing` (no value). Codes are strings: write `"10"`, not `10`.',
  '',
  '**Actions**: `{"type": "exclude"}` (the id is not traded), `{"type": "exclude", "side": "long"}` (may be short, not long) or `"side": "short"`, `{"type": "scale", "multiplier": 0.5}` (multipliers of several matching rules multiply), `{"type": "observe"}` (flagged and counted only).',
  '',
  '**Balancing**: `"neutralize": {"by": "sector", "proportion": 1}` removes the signal\'s lean towards each group of the field (by sector, industry, country or an attribute); `"groupCap": {"by": "sector", "maxAbsMean": 0.1}` shifts any group whose mean signal exceeds the cap back to it.',
  '',
  '**Order** on the unconstrained meta-model: observe → exclude (both sides) → scale → neutralize → groupCap → side-limited exclusions → rank over the tradable ids.',
  '',
  'Example: `{"name": "ethical-core", "rules": [{"id": "tobacco", "match": {"any": [{"field": "industry", "op": "prefix", "value": "302030"}, {"field": "tags", "op": "contains", "value": "tobacco"}]}, "action": {"type": "exclude"}}], "neutralize": {"by": "sector", "proportion": 1}}`.',
  '',
  'Validation is strict: an unknown field, op, action or key is a 400 naming its path (such as `rules[2].match.any[0].op`). The new version is a draft: preview it, then have another admin activate it.',
].join('\n');

export const policyRoutes: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
  app.post(
    '/v1/policies',
    {
      config: { access: ADMIN },
      // parsePolicy validates the body, so problems name paths like rules[2].match.any[0].op.
      validatorCompiler: ingestValidator,
      schema: {
        tags: ['policies'],
        summary: 'Create a draft policy version (version = latest of that name + 1; versions never change)',
        description: RULE_LANGUAGE,
        body: policySchema,
        response: { 201: z.object({ id: z.uuid(), name: z.string(), version: z.number().int(), status }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await policies.create(requirePrincipal(request).accountId, request.body);
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/policies',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary: 'Every policy version, by name then newest version first',
        querystring: z.object({ name: z.string().min(1).optional() }),
        response: { 200: z.object({ policies: z.array(policySummary) }), ...problemResponses },
      },
    },
    async (request) => ({ policies: await policies.list({ name: request.query.name }) }),
  );

  app.get(
    '/v1/policies/active',
    {
      config: { access: 'public' },
      schema: {
        tags: ['policies'],
        summary: 'The policy in force (public: the rules are not a secret, the holdings are)',
        response: {
          200: z.object({ id: z.uuid(), name: z.string(), version: z.number().int(), activatedAt: z.date(), document: policySchema }),
          404: problemResponses[404],
        },
      },
    },
    async () => {
      const active = await policies.active();
      return { id: active.id, name: active.name, version: active.version, activatedAt: active.activatedAt!, document: active.document };
    },
  );

  app.get(
    '/v1/policies/:id',
    {
      config: { access: ADMIN },
      schema: { tags: ['policies'], summary: 'One policy version with its document', params: id, response: { 200: policyDetail, ...problemResponses } },
    },
    async (request) => policies.get(request.params.id),
  );

  app.post(
    '/v1/policies/:id/activate',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['policies'],
        summary:
          'Activate a draft or retired version, retiring the active one; with POLICY_FOUR_EYES (default) the author may not activate it. ' +
          'Activating the version already active is 409.',
        params: id,
        body: z.strictObject({ reason: z.string().trim().min(1).max(2000) }),
        response: {
          200: z.object({
            id: z.uuid(),
            name: z.string(),
            version: z.number().int(),
            status: z.literal('active'),
            activatedAt: z.date(),
            retired: z.uuid().nullable().describe('the version this one replaced'),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => policies.activate(requirePrincipal(request), request.params.id, request.body.reason),
  );

  app.post(
    '/v1/policies/:id/preview',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: `Dry-run a version on up to ${MAX_PREVIEW_ERAS} closed eras (shadow documents show what enforcing would do)`,
        params: id,
        body: previewBody,
        response: {
          200: z.object({
            policy: z.object({ id: z.uuid(), name: z.string(), version: z.number().int(), mode: z.enum(['enforce', 'shadow']) }),
            eras: z.array(eraPreview),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => policies.preview(request.params.id, request.body.eras),
  );
};
