import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const usesZod = (schema: object | undefined) =>
  !!schema && Object.values(schema as Record<string, unknown>).some((part) => !!part && typeof part === 'object' && ('_zod' in part || Object.values(part).some((r) => !!r && typeof r === 'object' && '_zod' in r)));

/** The service's version, as package.json states it. */
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export const swaggerPlugin = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Stakeweight',
        description: [
          'Stake-weighted meta-model tournament: eras, submissions, meta-model, exclusion policies, scores and transparency reports.',
          '',
          '**Getting started.** Every request but the public ones (health, these docs, the active policy, reports) sends `Authorization: Bearer <key>`. ' +
            'The first admin key comes from starting the service with `BOOTSTRAP_ADMIN_KEY` (16+ characters) or from `npm run cli -- create-key --role admin`. ' +
            'An admin creates operator and author accounts with `POST /v1/accounts`; the reply holds the new key, shown once. ' +
            'An admin made that way is `pending` (its key gets 403 everywhere) until a different admin confirms it with `POST /v1/accounts/{id}/confirm`. ' +
            'An operator opens a round with `POST /v1/eras` and sets its stocks with `PUT /v1/eras/{number}/universe` (a CSV such as `id,sector`). ' +
            'An operator credits the author\'s wallet with the money it paid in (`POST /v1/accounts/{id}/wallet/credits`); the author creates a model (`POST /v1/models`), stakes on it from that wallet (`PUT /v1/models/{modelId}/stake`), reads the ids (`GET /v1/eras/{number}/live-ids`) ' +
            'and submits `id,prediction` rows with values in [0, 1] (`POST /v1/models/{modelId}/submissions?era=N`). ' +
            'The era closes at `closesAt`; the operator then reads the meta-model, uploads targets, reads the scores and resolves the era, which pays or burns the stakes once.',
          '',
          'Bodies are `application/json`, or `text/csv` where a route takes CSV. ' +
            'Errors are RFC 9457 `application/problem+json`: `detail` says what is wrong and how to fix it, and a refused body lists every problem in `errors`. ' +
            'The formulas, stake rules, policy language and report figures are documented in the repository under docs/.',
        ].join('\n'),
        version,
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key from POST /v1/accounts' } },
      },
    },
    // Routes outside /v1 (health, docs) use plain JSON schema, which the zod transform rejects.
    // Registers the schemas named with .meta({ id }) under components.schemas, so $refs resolve.
    transformObject: jsonSchemaTransformObject,
    transform: (input) => (usesZod(input.schema) ? jsonSchemaTransform(input) : { schema: input.schema, url: input.url }),
  });
  // BaseLayout: the standalone layout's top bar draws Swagger's logo, an SVG with an inline <style>
  // that the page's CSP (no 'unsafe-inline') refuses, and its URL box is not needed here.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { layout: 'BaseLayout' } });
});
