import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type pg from 'pg';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { authPlugin } from './http/plugins/auth.js';
import { errorsPlugin } from './http/plugins/errors.js';
import { metricsPlugin } from './http/plugins/metrics.js';
import { rateLimitPlugin } from './http/plugins/rate-limit.js';
import { swaggerPlugin } from './http/plugins/swagger.js';
import { accountRoutes } from './http/routes/accounts.js';
import { healthRoutes } from './http/routes/health.js';
import { accountsService } from './services/accounts.js';
import { auditService } from './services/audit.js';

export interface AppDeps {
  config: Config;
  db: Database;
  pool: pg.Pool;
  logger?: FastifyBaseLogger | boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the whole service from explicit dependencies; tests inject into what this returns. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db, pool } = deps;
  const app = Fastify({
    loggerInstance: typeof deps.logger === 'object' ? deps.logger : undefined,
    logger: typeof deps.logger === 'boolean' ? deps.logger : undefined,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const audit = auditService(db);
  const accounts = accountsService(db, audit);

  await app.register(errorsPlugin);
  await app.register(helmet, { global: true });
  await app.register(authPlugin, { accounts });
  await app.register(rateLimitPlugin, { perMinute: config.RATE_LIMIT_PER_MINUTE });
  await app.register(metricsPlugin);
  await app.register(swaggerPlugin);

  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  await app.register(healthRoutes, { pool });
  await app.register(async (v1) => {
    // zod validates only inside this scope, so plugins with JSON-schema routes keep working.
    v1.setValidatorCompiler(validatorCompiler);
    v1.setSerializerCompiler(serializerCompiler);
    await v1.register(accountRoutes, { accounts });
  });

  if (config.BOOTSTRAP_ADMIN_KEY) await accounts.ensureBootstrapAdmin(config.BOOTSTRAP_ADMIN_KEY);
  return app;
}
