import type { FastifyBaseLogger, FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { connect } from '../../src/db/client.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const ADMIN_KEY = 'sw_test_bootstrap_admin_key_0123456789';

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  config: Config;
  close(): Promise<void>;
}

/** buildApp on a database of its own, with a bootstrap admin key; silent unless given a logger. */
export async function createTestApp(env: Record<string, string> = {}, options: { logger?: FastifyBaseLogger; deliveries?: boolean } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'silent', DATABASE_URL: database.url, ...env });
  const deliveries = options.deliveries ? { databaseUrl: database.url } : undefined;
  const app = await buildApp({ config, db: database.db, pool: database.pool, logger: options.logger ?? false, deliveries });
  await app.ready();
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
  const app = await buildApp({ config: { ...t.config, ...options.config }, db: handle.db, pool: handle.pool, logger: false, scheduler: options.scheduler, deliveries });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await handle.pool.end();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Creates an account of the given role through the API and returns its key. */
export async function createAccount(app: FastifyInstance, role: 'admin' | 'operator' | 'author', name = `${role}-${Math.random().toString(36).slice(2, 8)}`) {
  const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name, role } });
  if (res.statusCode !== 201) throw new Error(`could not create ${role}: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; name: string; role: string; keyId: string; apiKey: string };
}

export function expectProblem(res: LightMyRequestResponse, status: number) {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers['content-type']}`);
  }
  const body = res.json() as { type: string; title: string; status: number; detail: string; errors?: unknown[] };
  if (body.status !== status || !body.type || !body.title || !body.detail) throw new Error(`malformed problem: ${res.body}`);
  return body;
}
