import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const usesZod = (schema: object | undefined) =>
  !!schema && Object.values(schema).some((part) => !!part && typeof part === 'object' && ('_zod' in part || Object.values(part).some((r) => !!r && typeof r === 'object' && '_zod' in r)));

export const swaggerPlugin = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Stakeweight',
        description:
          'Stake-weighted meta-model tournament: eras, submissions, meta-model, exclusion policies, scores and transparency reports. ' +
          'Errors are RFC 9457 application/problem+json.',
        version: '1.0.0',
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
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
});
