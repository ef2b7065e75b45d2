import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { policySchema, predicateSchema, ruleSchema } from '../../domain/policy/schema.js';
import type { PoliciesService } from '../../services/policies.js';
import { ingestValidator } from '../body.js';
import { ADMIN, STAFF, requirePrincipal } from '../plugins/auth.js';
import { policyCostSchema, signalExposures } from '../exposure-schemas.js';
import { eraNumberField, policyMode, policyRef, problemResponses } from '../schemas.js';

const MAX_PREVIEW_ERAS = 50;

// Predicates nest, so OpenAPI needs a named component to refer back to.
if (!z.globalRegistry.has(predicateSchema)) z.globalRegistry.add(predicateSchema, { id: 'PolicyPredicate' });

const accountRef = z.object({ id: z.uuid(), name: z.string() });
const status = z.enum(['draft', 'scheduled', 'active', 'retired']);
const warnings = z
  .array(z.object({ path: z.string(), message: z.string() }))
  .describe('fields and values the document names that no recent universe has: such a rule is valid but matches nothing');

const policySummary = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.number().int(),
  status,
  description: z.string().nullable(),
  mode: policyMode,
  author: accountRef,
  createdAt: z.date(),
  activatedAt: z.date().nullable().describe('latest activation (scheduled ones included); every one is in GET /v1/policies/changelog'),
  activatedBy: accountRef.nullable(),
  fromEra: z.number().int().nullable().describe('the first era of the latest activation'),
  retiredAt: z.date().nullable().describe('when the version after it took force'),
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
  run: z.object({ id: z.uuid(), seq: z.number().int() }).nullable().describe('the run whose unconstrained meta-model was used; null for an open era'),
  provisional: z
    .object({ models: z.number().int() })
    .nullable()
    .describe('an open era: M from the on-time submissions and stakes so far, as a close now would take them'),
  universeSize: z.number().int(),
  tradable: z.number().int(),
  excluded: z.object({ count: z.number().int(), share: z.number() }),
  observed: z.object({ count: z.number().int(), share: z.number() }),
  byRule: z.array(ruleEffect),
  sectorTilt: z
    .array(z.object({ sector: z.string(), ids: z.number().int(), before: z.number().nullable(), after: z.number().nullable() }))
    .describe('mean of M (before) and of the traded signal S over tradable ids (after) per sector; sectors under 5 ids folded into "other"'),
  spearman: z.number().nullable().describe('Spearman correlation of S with M over the tradable ids'),
  exposures: z.object({ before: signalExposures, after: signalExposures }).describe('of M over the universe (before) and of the traded value over the tradable ids (after)'),
  performanceCost: z.array(policyCostSchema).describe('the cost of this version on every target the era has (empty before targets arrive)'),
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
        response: { 201: z.object({ id: z.uuid(), name: z.string(), version: z.number().int(), status, warnings }), ...problemResponses },
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

  const inForce = z.object({
    id: z.uuid(),
    name: z.string(),
    version: z.number().int(),
    fromEra: z.number().int().describe('the first era it applies to'),
    activatedAt: z.date(),
    reason: z.string().describe('the reason its approver gave'),
    document: policySchema,
  });
  app.get(
    '/v1/policies/active',
    {
      config: { access: 'public' },
      schema: {
        tags: ['policies'],
        summary: 'The policy in force and the one scheduled to take force (public: the rules are not a secret, the holdings are)',
        description:
          'The version in force is the one the next era to close uses (`nextEra`); `upcoming` is a version scheduled from a later era, or null. ' +
          'The current fields are null when nothing is in force yet but a version is scheduled; 404 when neither.',
        response: {
          200: z.object({
            id: z.uuid().nullable(),
            name: z.string().nullable(),
            version: z.number().int().nullable(),
            fromEra: z.number().int().nullable(),
            activatedAt: z.date().nullable(),
            reason: z.string().nullable(),
            document: policySchema.nullable(),
            nextEra: z.number().int().describe('the first era whose cutoff has not passed'),
            upcoming: inForce.nullable(),
          }),
          404: problemResponses[404],
        },
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

  const ruleList = z.array(ruleSchema);
  app.get(
    '/v1/policies/changelog',
    {
      config: { access: 'public' },
      schema: {
        tags: ['policies'],
        summary: 'Every version that took force or is scheduled, oldest first: from which era, why, and which rules it added, removed or changed',
        description:
          'One entry per activation (a schedule replaced before it took force is left out). `fromEra`..`toEra` are the eras it applies to ' +
          '(`toEra` null while it is the latest); rules are compared by id with the version in force before, each with its public rationale and reference.',
        response: {
          200: z.object({
            nextEra: z.number().int(),
            entries: z.array(
              z.object({
                name: z.string(),
                version: z.number().int(),
                status: z.enum(['active', 'scheduled', 'retired']),
                fromEra: z.number().int(),
                toEra: z.number().int().nullable(),
                coversNoEra: z.boolean().describe('replaced by a later activation from the same era: no era closed under it'),
                activatedAt: z.date(),
                scheduled: z.boolean().describe('activated from a named era rather than at once'),
                reason: z.string(),
                description: z.string().nullable(),
                rules: z.object({
                  added: ruleList,
                  removed: ruleList,
                  changed: z.array(z.object({ id: z.string(), fields: z.array(z.string()), from: ruleSchema, to: ruleSchema })),
                }),
                fields: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })).describe('other fields that differ (mode, onMissingData, neutralize, groupCap, …)'),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async () => policies.changelog(),
  );

  app.get(
    '/v1/policies/:id/diff',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: 'What changed from version `against` to this one: rules added, removed and changed (by rule id) and every other field that differs',
        params: id,
        querystring: z.object({ against: z.uuid() }),
        response: {
          200: z.object({
            from: policyRef,
            to: policyRef,
            rules: z.object({
              added: ruleList,
              removed: ruleList,
              changed: z.array(z.object({ id: z.string(), fields: z.array(z.string()), from: ruleSchema, to: ruleSchema })),
            }),
            fields: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => policies.diff(request.params.id, request.query.against),
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
          'Put a version in force, at once or from a named later era (`fromEra`: scheduled until then); with POLICY_FOUR_EYES (default) the author may not activate it.',
        description:
          'At once, it applies to every era whose cutoff has not passed (from `nextEra` of GET /v1/policies/active). With `fromEra`, the eras before it close under the ' +
          'version in force now and era `fromEra` on under this one. A later activation replaces a schedule that has not taken force. Activating the version ' +
          'already in force with nothing scheduled is 409; a `fromEra` whose cutoff has passed is 409.',
        params: id,
        body: z.strictObject({ reason: z.string().trim().min(1).max(2000), fromEra: eraNumberField.optional() }),
        response: {
          200: z.object({
            id: z.uuid(),
            name: z.string(),
            version: z.number().int(),
            status: z.enum(['active', 'scheduled']),
            fromEra: z.number().int(),
            activatedAt: z.date(),
            retired: z.uuid().nullable().describe('the version this one replaced now (null when scheduled)'),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => policies.activate(requirePrincipal(request), request.params.id, request.body.reason, request.body.fromEra),
  );

  app.post(
    '/v1/policies/:id/preview',
    {
      config: { access: STAFF },
      schema: {
        tags: ['policies'],
        summary: `Dry-run a version on up to ${MAX_PREVIEW_ERAS} eras, closed or open (an open era on the submissions so far; shadow documents show what enforcing would do)`,
        params: id,
        body: previewBody,
        response: {
          200: z.object({
            policy: policyRef.extend({ mode: policyMode }),
            warnings: warnings.describe('fields and values no previewed universe has'),
            eras: z.array(eraPreview),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => policies.preview(request.params.id, request.body.eras),
  );
};
