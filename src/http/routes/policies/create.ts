import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parsePolicy } from '../../../domain/policy/index.js';
import { policySchema } from '../../../domain/policy/schema.js';
import { badRequest } from '../../../errors.js';
import type { PoliciesService } from '../../../services/policies.js';
import { ingestValidator } from '../../body.js';
import { ADMIN, requirePrincipal } from '../../plugins/auth.js';
import { problemResponses } from '../../schemas.js';
import { status, warnings } from './schemas.js';

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
  '**Balancing**: `"neutralize": {"by": "sector", "proportion": 1}` removes the signal\'s lean towards each group of the field (by sector, industry, country or an attribute); `"groupCap": {"by": "sector", "maxAbsMean": 0.1}` keeps every group\'s mean signal within the cap on what is published.',
  '',
  '**Order** on the unconstrained meta-model: observe → exclude (both sides) → scale → neutralize → the hard constraints held together on the final signal (side-limited exclusions, groupCap, and neutralize with proportion 1; a proportion below 1 is a target) → a rank over the tradable ids that keeps no long-excluded id above 0.5 and no short-excluded id below. A version whose constraints leave fewer than 2 distinct tradable values cannot be activated (docs/policies.md).',
  '',
  'Example: `{"name": "ethical-core", "rules": [{"id": "tobacco", "match": {"any": [{"field": "industry", "op": "prefix", "value": "302030"}, {"field": "tags", "op": "contains", "value": "tobacco"}]}, "action": {"type": "exclude"}}], "neutralize": {"by": "sector", "proportion": 1}}`.',
  '',
  'Validation is strict: an unknown field, op, action or key is a 400 naming its path (such as `rules[2].match.any[0].op`). The new version is a draft: preview it, then have another admin activate it.',
].join('\n');

const created = z.object({ id: z.uuid(), name: z.string(), version: z.number().int(), status, warnings });

export const createPolicy: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, { policies }) => {
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
        response: { 201: created, ...problemResponses },
      },
    },
    async (request, reply) => {
      const parsed = parsePolicy(request.body);
      if (!parsed.ok) throw badRequest(`the policy document has ${parsed.problems.length} problem(s)`, parsed.problems);
      const created = await policies.create(requirePrincipal(request), parsed.policy);
      return reply.status(201).send(created);
    },
  );
};
