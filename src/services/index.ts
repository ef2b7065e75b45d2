import type { Config } from '../config.js';
import { poolOf, type Database } from '../db/client.js';
import { ping } from '../db/health.js';
import { withMigrationLock } from '../db/migrate.js';
import { inlinePreparer, workerPreparer } from '../ingest/worker-preparer.js';
import { accountsService } from './accounts.js';
import { archiveService } from './archive.js';
import { auditService } from './audit.js';
import { bundlesService } from './bundles.js';
import { erasService } from './eras.js';
import { eventsService } from './events.js';
import { headsService } from './heads.js';
import { metaModelService } from './metamodel.js';
import { modelsService } from './models.js';
import { policiesService } from './policies.js';
import { rateLimitsService } from './rate-limits.js';
import { reportFiguresService } from './report-figures.js';
import { reportsService } from './reports.js';
import { retentionService } from './retention.js';
import { scoringService } from './scoring.js';
import { submissionsService } from './submissions.js';
import { verifyService } from './verify.js';
import { walletsService } from './wallets.js';
import type { WebhookAttemptsDeps } from './webhook-attempts.js';
import { webhookTargets } from './webhook-target.js';
import { webhooksService } from './webhooks.js';

/**
 * The composition root: every service made from the configuration and the one database handle,
 * for the server (app.ts) and the command line (cli.ts) alike. `close` stops what the services
 * hold outside the database (the ingest workers).
 */
export function buildServices(config: Config, db: Database) {
  const preparer = config.INGEST_WORKERS > 0 ? workerPreparer(config.INGEST_WORKERS) : inlinePreparer;
  const targets = webhookTargets(config.WEBHOOK_ALLOWED_HOSTS);
  const audit = auditService(db);
  const accounts = accountsService({ db, audit });
  const eras = erasService({ db, audit, config });
  const models = modelsService({ db, funding: config.STAKE_FUNDING });
  const wallets = walletsService({ db, audit });
  const reportFigures = reportFiguresService({ eras });
  const bundles = bundlesService({ db, eras });
  const scoring = scoringService({ db, audit, eras, models, bundles, reportFigures, defaultTarget: config.MAIN_TARGET, preparer, maxTargetColumns: config.TARGETS_MAX_COLUMNS });
  const submissions = submissionsService({ db, eras, models, preparer, scoreSubmission: scoring.scoreSubmission });
  const metaModel = metaModelService({ db, audit, eras, rescoreEra: scoring.rescoreEra, reportFigures });
  const policies = policiesService({ db, audit, eras, config, openEraMetaModel: metaModel.openEraMetaModel });
  const reports = reportsService({ db, eras, reportFigures });
  const heads = headsService({ db });
  const verify = verifyService({ db, eras, bundles });
  const events = eventsService({ db, retentionDays: config.EVENTS_RETENTION_DAYS });
  const webhooks = webhooksService({ db, targets });
  const webhookAttempts: WebhookAttemptsDeps = { db, config, targets };
  const rateLimits = rateLimitsService({ db });
  const retention = retentionService({ db, config });
  const archive = archiveService({ db });
  const health = { databaseAnswers: () => ping(db) };
  return {
    audit, accounts, eras, models, wallets, reportFigures, bundles, scoring, submissions, metaModel, policies, reports, heads, verify,
    events, webhooks, webhookAttempts, rateLimits, retention, archive, health,
    close: () => preparer.close(),
  };
}

export type Services = ReturnType<typeof buildServices>;

/**
 * The data steps of a migration, run after the schema's under the migration lock: they fill what
 * databases made by earlier releases lack, and cost one cheap query when nothing is missing.
 * Today: report figures of eras closed before they were stored with their runs.
 */
export async function migrateData(db: Database, services: Pick<Services, 'reportFigures'>): Promise<{ reportFigures: number }> {
  return withMigrationLock(poolOf(db), async () => ({ reportFigures: await services.reportFigures.backfill(db) }));
}
