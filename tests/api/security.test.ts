import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('rate limits', () => {
  const LIMIT = 5;
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(async () => t.close());

  it('refuse the N+1th write of a key with a 429 problem, leave its reads and other keys alone', async () => {
    const author = await createAccount(t.app, 'author');
    const other = await createAccount(t.app, 'author');
    const write = (key: string, i: number) => t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(key), payload: { name: `limited_${i}_${key.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}` } });

    for (let i = 0; i < LIMIT; i++) expect((await write(author.apiKey, i)).statusCode).toBe(201);
    const refused = await write(author.apiKey, LIMIT);
    const problem = expectProblem(refused, 429);
    expect(problem.detail).toMatch(/rate limit/i);
    expect(refused.headers['retry-after']).toBeDefined();
    // Nothing was written by the refused request.
    const { rows } = await t.database.pool.query('select count(*)::int as n from models where account_id = $1', [author.id]);
    expect(rows[0].n).toBe(LIMIT);

    // Reads are not throttled, however many.
    for (let i = 0; i < 3 * LIMIT; i++) expect((await t.app.inject({ method: 'GET', url: '/v1/models', headers: bearer(author.apiKey) })).statusCode).toBe(200);
    // Another account's key has its own budget, and so does a second key of the same account.
    expect((await write(other.apiKey, 0)).statusCode).toBe(201);
    const second = await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY) });
    expect(second.statusCode).toBe(201);
    expect((await write(second.json().apiKey, 100)).statusCode).toBe(201);
    // The first key stays refused within the window.
    expectProblem(await write(author.apiKey, LIMIT + 1), 429);
  });
});

describe('revoked keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  it('are refused everywhere at once, for reads, writes and the routes of their role', async () => {
    const admin = await createAccount(t.app, 'admin');
    const author = await createAccount(t.app, 'author');
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(admin.apiKey) })).statusCode).toBe(200);

    for (const key of [admin, author]) {
      const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${key.keyId}`, headers: bearer(ADMIN_KEY) });
      expect(revoke.statusCode).toBe(200);
    }
    const before = await t.database.pool.query('select (select count(*) from accounts)::int as accounts, (select count(*) from models)::int as models');
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(admin.apiKey) }), 401);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(admin.apiKey), payload: { name: 'ghost', role: 'admin' } }), 401);
    expectProblem(await t.app.inject({ method: 'POST', url: `/v1/accounts/${admin.id}/keys`, headers: bearer(admin.apiKey) }), 401);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(author.apiKey), payload: { name: 'ghost_model' } }), 401);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/eras', headers: bearer(author.apiKey) }), 401);
    // A revoked key is refused even on a public route: a bad credential is never silently ignored.
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/active', headers: bearer(author.apiKey) }), 401);
    const after = await t.database.pool.query('select (select count(*) from accounts)::int as accounts, (select count(*) from models)::int as models');
    expect(after.rows).toEqual(before.rows);

    // Revoking again changes nothing; the revoked key cannot revoke or un-revoke anything.
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${admin.keyId}`, headers: bearer(ADMIN_KEY) });
    expect(again.statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/v1/keys/${admin.keyId}`, headers: bearer(admin.apiKey) }), 401);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(admin.apiKey) }), 401);
  });
});

describe('secrets in logs', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let captured = '';

  beforeAll(async () => {
    database = await createTestDatabase();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        captured += String(chunk);
        done();
      },
    });
    const config = loadConfig({ BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace', DATABASE_URL: database.url });
    app = await buildApp({ config, db: database.db, logger: createLogger('trace', sink) });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('never holds a key secret, whether it was issued, used, mistyped or revoked', async () => {
    const secrets = [ADMIN_KEY];
    const created = await app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name: 'logged', role: 'author' } });
    expect(created.statusCode).toBe(201);
    const account = created.json<{ id: string; keyId: string; apiKey: string }>();
    secrets.push(account.apiKey);
    const extra = await app.inject({ method: 'POST', url: `/v1/accounts/${account.id}/keys`, headers: bearer(ADMIN_KEY) });
    const second = extra.json<{ id: string; apiKey: string }>();
    secrets.push(second.apiKey);

    await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(account.apiKey) });
    await app.inject({ method: 'POST', url: '/v1/models', headers: bearer(account.apiKey), payload: { name: 'logged_model' } });
    await app.inject({ method: 'POST', url: '/v1/models', headers: bearer(account.apiKey), payload: { name: 'Not Valid!' } });
    await app.inject({ method: 'DELETE', url: `/v1/keys/${second.id}`, headers: bearer(ADMIN_KEY) });
    await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(second.apiKey) });

    // Mistyped and foreign keys: a near miss of a real key, a made-up one, a malformed header.
    const nearMiss = `${account.apiKey.slice(0, -1)}X`;
    const madeUp = 'sw_made_up_secret_that_must_not_be_logged_0001';
    secrets.push(nearMiss, madeUp);
    await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(nearMiss) });
    await app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(madeUp), payload: { number: 1 } });
    await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Token ${madeUp}` } });
    await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${madeUp} trailing` } });

    // The log really is captured at trace level: every request left lines behind.
    expect(captured).toContain('incoming request');
    expect(captured).toContain('request completed');
    expect(captured.split('\n').length).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(captured).not.toContain(secret);
      // Nor the random part on its own (e.g. a prefix-stripped or differently quoted form).
      expect(captured).not.toContain(secret.slice(3, 24));
    }
  });
});
