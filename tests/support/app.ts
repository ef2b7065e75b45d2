import type { FastifyBaseLogger, FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { connect } from '../../src/db/client.js';
import { loadConfig, type Config } from '../../src/config.js';
import { accountsService } from '../../src/services/accounts.js';
import { auditService, COMMAND_LINE } from '../../src/services/audit.js';
import { buildServices, migrateData } from '../../src/services/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const ADMIN_KEY = 'sw_test_bootstrap_admin_key_0123456789';

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

/**
 * buildApp on a database of its own, with a bootstrap admin key; silent unless given a logger.
 * Stakes are play money (STAKE_FUNDING=open) unless the test asks for `wallet`: tests about money do.
 * Webhook deliveries run only when asked for (`deliveries`).
 */
export async function createTestApp(env: Record<string, string> = {}, options: { logger?: FastifyBaseLogger; deliveries?: boolean } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  // Load shedding on event-loop delay stays on, at a bound a test file sharing 2 busy cores with others
  // does not reach by accident (a test of shedding sets its own).
  const config = loadConfig({ BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'silent', DATABASE_URL: database.url, STAKE_FUNDING: 'open', MAX_EVENT_LOOP_DELAY_MS: '30000', ...env });
  const deliveries = options.deliveries ? { databaseUrl: database.url } : undefined;
  const app = await buildApp({ config, db: database.db, logger: options.logger ?? false, deliveries });
  await app.ready();
  databases.set(app, database);
  return {
    app,
    database,
    config,
    close: async () => {
      await app.close();
      await database.drop();
    },
  };
}

/** Another replica of the service on the test app's database, with a pool of its own. */
export async function startReplica(t: TestApp, options: { scheduler: boolean; deliveries?: boolean; config?: Partial<Config> }) {
  const handle = connect(t.database.url, { max: 10 });
  const deliveries = options.deliveries ? { databaseUrl: t.database.url } : undefined;
  const config = { ...t.config, ...options.config };
  // As the server starts: the services, the migration's data steps, then the app.
  const services = buildServices(config, handle.db);
  await migrateData(handle.db, services);
  const app = await buildApp({ config, db: handle.db, services, logger: false, scheduler: options.scheduler, deliveries });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await services.close();
      await handle.pool.end();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const databases = new WeakMap<FastifyInstance, TestDatabase>();
/** Per test app: a second admin made by the command line, which confirms the admins the bootstrap admin makes over HTTP. */
const confirmers = new WeakMap<FastifyInstance, Promise<string>>();

/** An admin account made as `npm run cli -- create-key --role admin` makes it (active at once); returns its key. */
export async function commandLineAdmin(app: FastifyInstance, name = `cli-admin-${Math.random().toString(36).slice(2, 8)}`) {
  const database = databases.get(app);
  if (!database) throw new Error('commandLineAdmin needs an app made by createTestApp');
  const accounts = accountsService({ db: database.db, audit: auditService(database.db) });
  return accounts.createAccount(COMMAND_LINE, { name, role: 'admin' });
}

function confirmerOf(app: FastifyInstance): Promise<string> {
  let confirmer = confirmers.get(app);
  if (!confirmer) {
    confirmer = commandLineAdmin(app, 'confirmer').then((created) => created.apiKey);
    confirmers.set(app, confirmer);
  }
  return confirmer;
}

/**
 * Creates an account of the given role through the API and returns its key. An admin made so is
 * pending; this confirms it with a second admin (made by the command line) unless told not to.
 */
export async function createAccount(
  app: FastifyInstance,
  role: 'admin' | 'operator' | 'author',
  name = `${role}-${Math.random().toString(36).slice(2, 8)}`,
  options: { confirm?: boolean } = {},
) {
  const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name, role } });
  if (res.statusCode !== 201) throw new Error(`could not create ${role}: ${res.statusCode} ${res.body}`);
  const created = res.json<{ id: string; name: string; role: string; status: string; keyId: string; apiKey: string }>();
  if (created.status === 'pending' && options.confirm !== false) {
    const confirmed = await app.inject({ method: 'POST', url: `/v1/accounts/${created.id}/confirm`, headers: bearer(await confirmerOf(app)) });
    if (confirmed.statusCode !== 200) throw new Error(`could not confirm ${name}: ${confirmed.statusCode} ${confirmed.body}`);
    created.status = 'active';
  }
  return created;
}

export function expectProblem(res: LightMyRequestResponse, status: number) {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${String(res.headers['content-type'])}`);
  }
  const body = res.json<{ type: string; title: string; status: number; detail: string; errors?: unknown[] }>();
  if (body.status !== status || !body.type || !body.title || !body.detail) throw new Error(`malformed problem: ${res.body}`);
  return body;
}

/**
 * Two app instances on one database of their own (the second with a pool of its own and no
 * scheduler), as replicas behind a load balancer, with a generous write limit and staff keys.
 */
export async function startTwoInstances(env: Record<string, string> = {}, staff: ('operator' | 'admin')[] = ['operator']) {
  const t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000000', ...env });
  const other = await startReplica(t, { scheduler: false });
  const keys: Partial<Record<'operator' | 'admin' | 'author', string>> = {};
  for (const role of [...staff, 'author' as const]) keys[role] = (await createAccount(t.app, role)).apiKey;
  return {
    t,
    other,
    operatorKey: keys.operator ?? '',
    adminKey: keys.admin ?? '',
    authorKey: keys.author!,
    close: async () => {
      await other.close();
      await t.close();
    },
  };
}

/** Polls until a statement of the database waits for a lock (or `settled` says it finished): a race is set up, not slept through. */
export async function untilWaitingForLock(pool: import('pg').Pool, settled: () => boolean) {
  for (let i = 0; i < 600 && !settled(); i++) {
    const { rows } = await pool.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'`);
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
