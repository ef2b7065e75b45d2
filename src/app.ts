import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { strictJsonKeys } from './http/exact-json.js';
import { authPlugin, refuseRevokedKeys } from './http/plugins/auth.js';
import { errorsPlugin } from './http/plugins/errors.js';
import { loadSheddingPlugin } from './http/plugins/load-shedding.js';
import { metricsPlugin } from './http/plugins/metrics.js';
import { modelRefPlugin } from './http/plugins/model-ref.js';
import { anonymousLimitPlugin, rateLimitPlugin } from './http/plugins/rate-limit.js';
import { swaggerPlugin } from './http/plugins/swagger.js';
import { accountAdminRoutes } from './http/routes/accounts-admin.js';
import { accountRoutes } from './http/routes/accounts.js';
import { auditLogRoutes } from './http/routes/audit-log.js';
import { bundleRoutes } from './http/routes/bundles.js';
import { consolePageRoutes } from './http/routes/console-page.js';
import { eraRoutes } from './http/routes/eras.js';
import { eventStreamRoutes } from './http/routes/events.js';
import { healthRoutes } from './http/routes/health.js';
import { metaModelRoutes } from './http/routes/metamodel.js';
import { modelRoutes } from './http/routes/models.js';
import { performanceRoutes } from './http/routes/performance.js';
import { policyRoutes } from './http/routes/policies.js';
import { reportRoutes } from './http/routes/reports.js';
import { reportsPageRoutes } from './http/routes/reports-page.js';
import { scoreRoutes } from './http/routes/scores.js';
import { submissionSummaryRoutes } from './http/routes/submissions-summary.js';
import { submissionRoutes } from './http/routes/submissions.js';
import { targetRoutes } from './http/routes/targets.js';
import { walletRoutes } from './http/routes/wallets.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { nameSafeSerializerCompiler } from './http/serializer.js';
import { eventDelivery } from './services/event-delivery.js';
import { buildServices, type Services } from './services/index.js';
import { eraScheduler } from './services/scheduler.js';

export interface AppDeps {
  config: Config;
  db: Database;
  /** The services (services/index.ts buildServices), when the caller made them; else buildApp makes them and closes them with the app. */
  services?: Services;
  logger?: FastifyBaseLogger | boolean;
  /** Close eras at closesAt from this instance (every replica runs one; off unless asked). */
  scheduler?: boolean;
  /** Deliver webhooks from this instance, on the job queue in this database (every replica runs one; off unless asked). */
  deliveries?: { databaseUrl: string };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the HTTP service around the given (or freshly built) services; tests inject into what this returns. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = createFastify(config, deps.logger);
  const services = deps.services ?? buildServices(config, deps.db);
  if (!deps.services) app.addHook('onClose', async () => services.close());
  await registerPlugins(app, config, services);
  await registerRoutes(app, config, services);
  runInBackground(app, config, services, deps);
  await ensureBootstrapAdmin(app, config, services);
  return app;
}

function createFastify(config: Config, logger: AppDeps['logger']): FastifyInstance {
  const app = Fastify({
    loggerInstance: typeof logger === 'object' ? logger : undefined,
    logger: typeof logger === 'boolean' ? logger : undefined,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Behind N proxies the client's address is the Nth from the right in X-Forwarded-For.
    trustProxy: config.TRUST_PROXY_HOPS > 0 ? (_address: string, hop: number) => hop < config.TRUST_PROXY_HOPS : false,
  });
  // While closing, answer in-flight requests with Connection: close so keep-alive sockets let the server stop.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  return app;
}

async function registerPlugins(app: FastifyInstance, config: Config, services: Services): Promise<void> {
  await app.register(errorsPlugin, { overrule: refuseRevokedKeys(services.accounts) });
  await app.register(helmet, { global: true });
  // onRequest hooks run in this order: shed load, limit keyless callers, authenticate, limit writes;
  // all before the body is read.
  await app.register(loadSheddingPlugin, {
    maxBodies: config.MAX_BODIES_IN_FLIGHT,
    maxBodyBytes: config.MAX_BODY_BYTES_IN_FLIGHT,
    bodyLimit: config.BODY_LIMIT_BYTES,
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
  });
  await app.register(anonymousLimitPlugin, { perMinute: config.ANONYMOUS_RATE_LIMIT_PER_MINUTE });
  await app.register(authPlugin, { accounts: services.accounts, failuresPerMinute: config.AUTH_FAILURES_PER_MINUTE });
  await app.register(rateLimitPlugin, { store: services.rateLimits, perMinute: config.RATE_LIMIT_PER_MINUTE });
  await app.register(metricsPlugin);
  await app.register(modelRefPlugin, { models: services.models });
  await app.register(swaggerPlugin);
  strictJsonKeys(app);
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

async function registerRoutes(app: FastifyInstance, config: Config, s: Services): Promise<void> {
  await app.register(healthRoutes, { databaseAnswers: s.health.databaseAnswers });
  await app.register(reportsPageRoutes);
  await app.register(consolePageRoutes);
  await app.register(async (v1) => {
    // zod validates only inside this scope, so plugins with JSON-schema routes keep working.
    v1.setValidatorCompiler(validatorCompiler);
    v1.setSerializerCompiler(nameSafeSerializerCompiler);
    await v1.register(accountRoutes, { accounts: s.accounts });
    await v1.register(accountAdminRoutes, { accounts: s.accounts });
    await v1.register(eraRoutes, { eras: s.eras });
    await v1.register(modelRoutes, { models: s.models });
    await v1.register(walletRoutes, { wallets: s.wallets });
    await v1.register(submissionRoutes, { submissions: s.submissions, models: s.models });
    await v1.register(submissionSummaryRoutes, { submissions: s.submissions });
    await v1.register(metaModelRoutes, { metaModel: s.metaModel });
    await v1.register(targetRoutes, { scoring: s.scoring });
    await v1.register(scoreRoutes, { scoring: s.scoring });
    await v1.register(bundleRoutes, { bundles: s.bundles });
    await v1.register(performanceRoutes, { scoring: s.scoring });
    await v1.register(policyRoutes, { policies: s.policies });
    await v1.register(auditLogRoutes, { audit: s.audit });
    await v1.register(reportRoutes, { reports: s.reports, heads: s.heads });
    await v1.register(webhookRoutes, { webhooks: s.webhooks });
    await v1.register(eventStreamRoutes, { events: s.events, pollMs: config.EVENTS_STREAM_POLL_MS, heartbeatMs: config.EVENTS_HEARTBEAT_MS });
  });
}

/** Era partitions ahead; the era scheduler and webhook delivery, when this instance runs them: started when the app is ready, stopped when it closes. */
function runInBackground(app: FastifyInstance, config: Config, services: Services, deps: AppDeps): void {
  // Era partitions ahead (src/db/partitions.ts); the scheduler's passes keep them ahead.
  app.addHook('onReady', async () => {
    await services.retention.makePartitions().catch(() => app.log.error('making era partitions failed; the scheduler tries again'));
  });
  if (deps.scheduler) {
    const scheduler = eraScheduler(services.metaModel, {
      intervalMs: config.SCHEDULER_INTERVAL_MS,
      log: app.log,
      announceOpenings: () => services.events.announceOpenings(),
      maintainStorage: () => services.retention.passWhenDue(),
    });
    app.addHook('onReady', async () => scheduler.start());
    app.addHook('onClose', async () => scheduler.stop());
  }
  if (deps.deliveries) {
    const delivery = eventDelivery({
      attempts: services.webhookAttempts,
      events: services.events,
      workers: config.WEBHOOK_WORKERS,
      log: app.log,
      queue: {
        connectionString: deps.deliveries.databaseUrl,
        expireSeconds: config.WEBHOOK_JOB_EXPIRE_SECONDS,
        maintenanceSeconds: config.WEBHOOK_QUEUE_MAINTENANCE_SECONDS,
        pollingSeconds: 0.5,
      },
    });
    app.addHook('onReady', async () => delivery.start());
    app.addHook('onClose', async () => delivery.stop());
  }
}

async function ensureBootstrapAdmin(app: FastifyInstance, config: Config, services: Services): Promise<void> {
  if (!config.BOOTSTRAP_ADMIN_KEY) return;
  const bootstrap = await services.accounts.ensureBootstrapAdmin(config.BOOTSTRAP_ADMIN_KEY);
  if (bootstrap.state === 'active') app.log.info({ keyId: bootstrap.keyId }, 'the bootstrap admin key (BOOTSTRAP_ADMIN_KEY) is active');
  else app.log.warn({ keyId: bootstrap.keyId }, `the bootstrap admin key (BOOTSTRAP_ADMIN_KEY) is ${bootstrap.state}: it does not work; use another admin key or npm run cli -- create-key --role admin`);
}
