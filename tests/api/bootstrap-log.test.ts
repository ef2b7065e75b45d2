import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ADMIN_KEY, bearer, createTestApp, type TestApp } from '../support/app.js';
import { capturedLogger } from '../support/security.js';

/* The start-up log says whether the bootstrap admin key works, and never holds the key. */

const first = capturedLogger();
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ LOG_LEVEL: 'info' }, { logger: first.logger });
});
afterAll(async () => t.close());

async function bootstrapKeyId(): Promise<string> {
  const { rows } = await t.database.pool.query<{ id: string }>(`select k.id from api_keys k join accounts a on a.id = k.account_id where a.name = 'bootstrap-admin'`);
  expect(rows).toHaveLength(1);
  return rows[0].id;
}

describe('the bootstrap admin key at start-up', () => {
  it('is logged as active, with its key id and without its secret', async () => {
    const keyId = await bootstrapKeyId();
    const lines = first.text().split('\n').filter((line) => line.includes('bootstrap admin key'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, keyId, msg: 'the bootstrap admin key (BOOTSTRAP_ADMIN_KEY) is active' });
    expect(first.text()).not.toContain(ADMIN_KEY);
  });

  it('is logged as not working once revoked: a restart does not bring it back', async () => {
    await t.database.pool.query('update api_keys set revoked_at = now() where id = $1', [await bootstrapKeyId()]);
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ADMIN_KEY) })).statusCode).toBe(401);
    const restarted = capturedLogger();
    const app = await buildApp({ config: t.config, db: t.database.db, logger: restarted.logger });
    await app.close();
    const lines = restarted.text().split('\n').filter((line) => line.includes('bootstrap admin key'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).level).toBe(40);
    expect(JSON.parse(lines[0]).msg).toMatch(/is revoked: it does not work/);
    expect(restarted.text()).not.toContain(ADMIN_KEY);
  });
});
