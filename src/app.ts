import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { nameSafeSerializerCompiler } from './http/serializer.js';
import type { Config } from './config.js';
import type { Database, DatabaseHandle } from './db/client.js';
import { authPlugin, refuseRevokedKeys } from './http/plugins/auth.js';
import { inlinePreparer, workerPreparer } from './ingest/worker-preparer.js';
import { errorsPlugin } from './http/plugins/errors.js';
import { strictJsonKeys } from './http/exact-json.js';
import { metricsPlugin } from './http/plugins/metrics.js';
import { modelRefPlugin } from './http/plugins/model-ref.js';
import { loadSheddingPlugin } from './http/plugins/load-shedding.js';
import { anonymousLimitPlugin, rateLimitPlugin } from './http/plugins/rate-limit.js';
import { rateLimitStore } from './db/rate-limit.js';
import { swaggerPlugin } from './http/plugins/swagger.js';
import { accountRoutes } from './http/routes/accounts.js';
import { accountAdminRoutes } from './http/routes/accounts-admin.js';
import { auditLogRoutes } from './http/routes/audit-log.js';
import { bundleRoutes } from './http/routes/bundles.js';
import { eraRoutes } from './http/routes/eras.js';
import { metaModelRoutes } from './http/routes/metamodel.js';
import { modelRoutes } from './http/routes/models.js';
import { performanceRoutes } from './http/routes/performance.js';
import { policyRoutes } from './http/routes/policies.js';
import { reportsPageRoutes } from './http/routes/reports-page.js';
import { consolePageRoutes } from './http/routes/console-page.js';
import { reportRoutes } from './http/routes/reports.js';
import { scoreRoutes } from './http/routes/scores.js';
import { submissionRoutes } from './http/routes/submissions.js';
import { submissionSummaryRoutes } from './http/routes/submissions-summary.js';
import { targetRoutes } from './http/routes/targets.js';
import { walletRoutes } from './http/routes/wallets.js';
import { healthRoutes } from './http/routes/health.js';
import { ping } from './db/health.js';
import { accountsService } from './services/accounts.js';
import { auditService } from './services/audit.js';
import { bundlesService } from './services/bundles.js';
import { erasService } from './services/eras.js';
import { headsService } from './services/heads.js';
import { metaModelService } from './services/metamodel.js';
import { modelsService } from './services/models.js';
import { policiesService } from './services/policies.js';
import { reportFiguresService } from './services/report-figures.js';
import { reportsService } from './services/reports.js';
import { eraScheduler } from './services/scheduler.js';
import { retentionService } from './services/retention.js';
import { eventDelivery } from './services/event-delivery.js';
import { eventsService } from './services/events.js';
import { webhookTargets } from './services/webhook-target.js';
import { webhooksService } from './services/webhooks.js';
import { eventStreamRoutes } from './http/routes/events.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { scoringService } from './services/scoring.js';
import { submissionsService } from './services/submissions.js';
import { walletsService } from './services/wallets.js';

export interface AppDeps {
  config: Config;
  db: Database;
  pool: DatabaseHandle['pool'];
  logger?: FastifyBaseLogger | boolean;
  /** Close eras at closesAt from this instance (every replica runs one; off unless asked). */
  scheduler?: boolean;
  /** Deliver webhooks from this instance, on the job queue in this database (every replica runs one; off unless asked). */
  deliveries?: { databaseUrl: string };
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

  const audit = auditService(db);
  const accounts = accountsService({ db, audit });
  const eras = erasService({ db, audit, config });
  const models = modelsService({ db, funding: config.STAKE_FUNDING });
  const wallets = walletsService({ db, audit });
  const reportFigures = reportFiguresService({ eras });
  const bundles = bundlesService({ db, eras });
  const preparer = config.INGEST_WORKERS > 0 ? workerPreparer(config.INGEST_WORKERS) : inlinePreparer;
  app.addHook('onClose', async () => preparer.close());
  const scoring = scoringService({
    pool,
    audit,
    eras,
    models,
    bundles,
    reportFigures,
    defaultTarget: config.MAIN_TARGET,
    preparer,
    maxTargetColumns: config.TARGETS_MAX_COLUMNS,
  });
  const submissions = submissionsService({ database: { db, pool }, eras, models, preparer, scoreSubmission: scoring.scoreSubmission });
  const metaModel = metaModelService({ database: { db, pool }, audit, eras, rescoreEra: scoring.rescoreEra, reportFigures });
  const policies = policiesService({ db, audit, eras, config, openEraMetaModel: metaModel.openEraMetaModel });
  const reports = reportsService({ db, eras, reportFigures });
  const heads = headsService({ db });
  const events = eventsService({ db, retentionDays: config.EVENTS_RETENTION_DAYS });
  const retention = retentionService({ db, config });
  const webhooks = webhooksService({ db, pool, config, targets: webhookTargets(config.WEBHOOK_ALLOWED_HOSTS) });
  // Eras closed before report figures were stored with their runs get them once, at start.
  app.addHook('onReady', async () => {
    await reportFigures.backfill(db).catch(() => app.log.error('report figures backfill failed; it is tried again at the next start'));
    // Era partitions ahead (src/db/partitions.ts); the scheduler's passes keep them ahead.
    await retention.makePartitions().catch(() => app.log.error('making era partitions failed; the scheduler tries again'));
  });

  await app.register(errorsPlugin, { overrule: refuseRevokedKeys(accounts) });
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
  await app.register(authPlugin, { accounts, failuresPerMinute: config.AUTH_FAILURES_PER_MINUTE });
  await app.register(rateLimitPlugin, { store: rateLimitStore(pool), perMinute: config.RATE_LIMIT_PER_MINUTE });
  await app.register(metricsPlugin);
  await app.register(modelRefPlugin, { models });
  await app.register(swaggerPlugin);

  strictJsonKeys(app);
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  await app.register(healthRoutes, { databaseAnswers: () => ping(pool) });
  await app.register(reportsPageRoutes);
  await app.register(consolePageRoutes);
  await app.register(async (v1) => {
    // zod validates only inside this scope, so plugins with JSON-schema routes keep working.
    v1.setValidatorCompiler(validatorCompiler);
    v1.setSerializerCompiler(nameSafeSerializerCompiler);
    await v1.register(accountRoutes, { accounts });
    await v1.register(accountAdminRoutes, { accounts });
    await v1.register(eraRoutes, { eras });
    await v1.register(modelRoutes, { models });
    await v1.register(walletRoutes, { wallets });
    await v1.register(submissionRoutes, { submissions, models });
    await v1.register(submissionSummaryRoutes, { submissions });
    await v1.register(metaModelRoutes, { metaModel });
    await v1.register(targetRoutes, { scoring });
    await v1.register(scoreRoutes, { scoring });
    await v1.register(bundleRoutes, { bundles });
    await v1.register(performanceRoutes, { scoring });
    await v1.register(policyRoutes, { policies });
    await v1.register(auditLogRoutes, { audit });
    await v1.register(reportRoutes, { reports, heads });
    await v1.register(webhookRoutes, { webhooks });
    await v1.register(eventStreamRoutes, { events, pollMs: config.EVENTS_STREAM_POLL_MS, heartbeatMs: config.EVENTS_HEARTBEAT_MS });
  });

  if (deps.scheduler) {
    const scheduler = eraScheduler(metaModel, { intervalMs: config.SCHEDULER_INTERVAL_MS, log: app.log, announceOpenings: events.announceOpenings, maintainStorage: retention.passWhenDue });
    app.addHook('onReady', async () => scheduler.start());
    app.addHook('onClose', async () => scheduler.stop());
  }

  if (deps.deliveries) {
    const delivery = eventDelivery({
      pool,
      webhooks,
      events,
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

  if (config.BOOTSTRAP_ADMIN_KEY) {
    const bootstrap = await accounts.ensureBootstrapAdmin(config.BOOTSTRAP_ADMIN_KEY);
    if (bootstrap.state === 'active') app.log.info({ keyId: bootstrap.keyId }, 'the bootstrap admin key (BOOTSTRAP_ADMIN_KEY) is active');
    else app.log.warn({ keyId: bootstrap.keyId }, `the bootstrap admin key (BOOTSTRAP_ADMIN_KEY) is ${bootstrap.state}: it does not work; use another admin key or npm run cli -- create-key --role admin`);
  }
  return app;
}
