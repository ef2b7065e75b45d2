import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, startReplica, type TestApp } from '../support/app.js';

/** Counts the queries a pool is asked to run from now on whose text matches (the database itself is real). */
function countQueries(pool: pg.Pool, text = /./) {
  let count = 0;
  const original = pool.query.bind(pool);
  pool.query = ((...args: Parameters<typeof original>) => {
    const config = args[0] as unknown;
    const sql = typeof config === 'string' ? config : String((config as { text?: string }).text ?? '');
    if (text.test(sql)) count++;
    return original(...args);
  }) as typeof pool.query;
  return () => count;
}

const modelName = (i: number) => `limited_${i}_${Math.random().toString(36).slice(2, 8)}`;

describe('the write rate limit, shared by replicas', () => {
  const LIMIT = 7;
  let t: TestApp;
  let other: Awaited<ReturnType<typeof startReplica>>;

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    other = await startReplica(t, { scheduler: false });
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  it('grants a key LIMIT writes in the minute whichever replica they reach, concurrent or not, and refuses the rest', async () => {
    const author = await createAccount(t.app, 'author');
    const write = (i: number) =>
      (i % 2 ? other.app : t.app).inject({ method: 'POST', url: '/v1/models', headers: bearer(author.apiKey), payload: { name: modelName(i) } });
    const replies = await Promise.all(Array.from({ length: 3 * LIMIT }, (_, i) => write(i)));
    const statuses = replies.map((r) => r.statusCode);
    // A minute can turn between two writes: then the budget starts again, and at most 2 × LIMIT pass.
    const passed = statuses.filter((s) => s === 201).length;
    expect(statuses.every((s) => s === 201 || s === 429)).toBe(true);
    expect(passed === LIMIT || (passed > LIMIT && passed <= 2 * LIMIT)).toBe(true);
    const refused = replies.find((r) => r.statusCode === 429)!;
    expect(expectProblem(refused, 429).detail).toMatch(/Rate limit of 7 write requests per minute/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    const { rows } = await t.database.pool.query('select count(*)::int as n from models where account_id = $1', [author.id]);
    expect(rows[0].n).toBe(passed);
  });

  it('is checked before the body is read: an over-limit write with a body too large, or not JSON, is a 429', async () => {
    const author = await createAccount(t.app, 'author');
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(author.apiKey), payload: { name: modelName(i) } });
      if (res.statusCode === 429) break; // the minute turned meanwhile is not this test's concern
    }
    const huge = 'x'.repeat(t.config.BODY_LIMIT_BYTES + 1);
    const tooLarge = await t.app.inject({ method: 'POST', url: '/v1/models', headers: { ...bearer(author.apiKey), 'content-type': 'application/json' }, payload: huge });
    const notJson = await other.app.inject({ method: 'POST', url: '/v1/models', headers: { ...bearer(author.apiKey), 'content-type': 'application/json' }, payload: '{nope' });
    // Were the bodies read first, these would be 413 and 400.
    expectProblem(tooLarge, 429);
    expectProblem(notJson, 429);
  });

  it('leaves reads, other keys and other accounts alone', async () => {
    const author = await createAccount(t.app, 'author');
    for (let i = 0; i <= LIMIT; i++) await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(author.apiKey), payload: { name: modelName(i) } });
    for (let i = 0; i < 3 * LIMIT; i++) expect((await other.app.inject({ method: 'GET', url: '/v1/models', headers: bearer(author.apiKey) })).statusCode).toBe(200);
    const second = (await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY) })).json<{ apiKey: string }>();
    expect((await other.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(second.apiKey), payload: { name: modelName(99) } })).statusCode).toBe(201);
  });
});

describe('the shared count, taken in batches', () => {
  const LIMIT = 1000; // batches of 10
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(async () => t.close());

  it('meets the database once per batch of writes, not once per write', async () => {
    const author = await createAccount(t.app, 'author');
    const queries = countQueries(t.database.pool, /rate_limit_counters/);
    const writes = 25;
    for (let i = 0; i < writes; i++) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(author.apiKey), payload: { name: modelName(i) } })).statusCode).toBe(201);
    }
    const takes = queries();
    const { rows } = await t.database.pool.query<{ used: number }>('select used from rate_limit_counters where bucket = $1', [author.keyId]);
    const taken = rows.reduce((sum, r) => sum + r.used, 0);
    // Three takes of 10 (four if the minute turned in between), each one round trip.
    expect(taken % 10).toBe(0);
    expect(taken).toBeGreaterThanOrEqual(30);
    expect(taken).toBeLessThanOrEqual(40);
    expect(rows.length).toBeLessThanOrEqual(2);
    expect(takes).toBe(taken / 10);
  });
});

describe('requests without a key, and with bad keys, per client address', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ANONYMOUS_RATE_LIMIT_PER_MINUTE: '10', AUTH_FAILURES_PER_MINUTE: '5' });
  });
  afterAll(async () => t.close());

  it('limits keyless requests per address, public reads and 401s alike, but never health probes', async () => {
    const from = (address: string, url: string) => t.app.inject({ method: 'GET', url, remoteAddress: address });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await from('10.0.0.1', i % 2 ? '/v1/policies/active' : '/v1/me')).statusCode);
    expect(statuses.slice(0, 10).filter((s) => s === 429)).toEqual([]);
    expect(statuses.slice(10)).toEqual([429, 429]);
    const refused = await from('10.0.0.1', '/v1/policies/active');
    expect(expectProblem(refused, 429).detail).toMatch(/without an API key/);
    expect(refused.headers['retry-after']).toBeDefined();
    for (let i = 0; i < 20; i++) expect((await from('10.0.0.1', '/healthz')).statusCode).toBe(200);
    // Another address, and a caller with a key from the same address, are unaffected.
    expect((await from('10.0.0.2', '/v1/policies/active')).statusCode).not.toBe(429);
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ADMIN_KEY), remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
  });

  it('lets a burst of bad keys cost at most the failure budget in database round trips', async () => {
    const live = await createAccount(t.app, 'author');
    const unseen = await createAccount(t.app, 'author');
    // This process has seen `live` work; it has never seen `unseen`.
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(live.apiKey), remoteAddress: '10.0.0.9' })).statusCode).toBe(200);

    const queries = countQueries(t.database.pool);
    const before = queries();
    const statuses = [];
    for (let i = 0; i < 200; i++) {
      const key = `sw_not_a_real_key_${String(i).padStart(24, '0')}`;
      statuses.push((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(key), remoteAddress: '10.0.0.9' })).statusCode);
    }
    expect(queries() - before).toBe(5);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const throttled = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer('sw_another_bad_key_000000000000'), remoteAddress: '10.0.0.9' });
    expect(expectProblem(throttled, 429).detail).toMatch(/unknown, revoked or expired keys from your address/);

    // A key this process has seen live still gets through from the throttled address; an unseen one waits.
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(live.apiKey), remoteAddress: '10.0.0.9' })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(unseen.apiKey), remoteAddress: '10.0.0.9' }), 429);
    // Malformed headers count as failures too, and other addresses keep their budget.
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(unseen.apiKey), remoteAddress: '10.0.0.10' })).statusCode).toBe(200);
  });
});
