import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SELF_SERVICE_KEYS } from '../../src/services/accounts.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';

const ERA = 4;
const ids = liveIds(30, 'sk');
const random = rng(3);
const freshCsv = () => predictionsCsv(ids, ids.map(() => Math.round(random() * 1e6) / 1e6));

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
  await createEra(t.app, { number: ERA, opensAt: new Date(Date.now() - 60_000).toISOString() });
  await putUniverse(t.app, ERA, ids);
});
afterAll(async () => t.close());

interface IssuedKey {
  id: string;
  accountId: string;
  apiKey: string;
  scopes: string[];
  expiresAt: string | null;
}

const get = (url: string, key: string) => t.app.inject({ method: 'GET', url, headers: bearer(key) });

describe('scoped keys', () => {
  it('an admin issues a submit-only key that expires: it submits and is refused elsewhere, naming the scope', async () => {
    const author = await createAccount(t.app, 'author');
    const model = await createModel(t.app, author.apiKey, 'scoped_submitter', '10');
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/accounts/${author.id}/keys`,
      headers: bearer(ADMIN_KEY),
      payload: { scopes: ['submit'], expiresAt },
    });
    expect(res.statusCode).toBe(201);
    const key = res.json<IssuedKey>();
    expect(key).toMatchObject({ accountId: author.id, scopes: ['submit'], expiresAt });

    expect((await submitCsv(t.app, key.apiKey, model.id, ERA, freshCsv())).statusCode).toBe(201);
    const read = expectProblem(await get('/v1/models', key.apiKey), 403);
    expect(read.detail).toContain('"read" scope');
    const stake = expectProblem(await t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(key.apiKey), payload: { amount: '20' } }), 403);
    expect(stake.detail).toContain('"stake" scope');
    const create = expectProblem(await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(key.apiKey), payload: { name: 'not_allowed' } }), 403);
    expect(create.detail).toContain('"all" scope');
    // The role still comes first: a scope never widens what the account's role may do.
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(key.apiKey), payload: { number: 99 } }), 403);
    expect((await get(`/v1/models/${model.id}/stake`, author.apiKey)).json()).toMatchObject({ amount: '10' });
  });

  it('a read key reads everything its role may and writes nothing; an admin read key cannot create accounts', async () => {
    const author = await createAccount(t.app, 'author');
    const model = await createModel(t.app, author.apiKey, 'read_scope_model');
    const key = (await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY), payload: { scopes: ['read'] } })).json<IssuedKey>();
    expect((await get('/v1/models', key.apiKey)).statusCode).toBe(200);
    expect((await get(`/v1/models/${model.id}/submissions`, key.apiKey)).statusCode).toBe(200);
    expect((await get('/v1/me', key.apiKey)).json()).toMatchObject({ id: author.id, role: 'author' });
    expectProblem(await submitCsv(t.app, key.apiKey, model.id, ERA, freshCsv()), 403);

    const admin = await createAccount(t.app, 'admin');
    const adminRead = (await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(admin.apiKey), payload: { scopes: ['read', 'read'] } })).json<IssuedKey>();
    expect(adminRead.scopes).toEqual(['read']);
    expect((await get('/v1/audit-log', adminRead.apiKey)).statusCode).toBe(200);
    const refused = expectProblem(await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(adminRead.apiKey), payload: { name: 'x', role: 'admin' } }), 403);
    expect(refused.detail).toMatch(/"all" scope.*"read"/);
  });

  it('a key without a body is role-wide and never expires; "all" beside other scopes is role-wide', async () => {
    const author = await createAccount(t.app, 'author');
    const plain = (await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY) })).json<IssuedKey>();
    expect(plain).toMatchObject({ scopes: ['all'], expiresAt: null });
    const mixed = (await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY), payload: { scopes: ['submit', 'all'] } })).json<IssuedKey>();
    expect(mixed.scopes).toEqual(['all']);
    expect((await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(mixed.apiKey), payload: { name: 'mixed_scope' } })).statusCode).toBe(201);
  });
});

describe('expired keys', () => {
  it('get 401 saying the key expired, on every route, also the submission route that remembers keys', async () => {
    const author = await createAccount(t.app, 'author');
    const model = await createModel(t.app, author.apiKey, 'expiring_model');
    const key = (await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(author.apiKey), payload: { expiresAt: new Date(Date.now() + 3_600_000).toISOString() } })).json<IssuedKey>();
    expect((await submitCsv(t.app, key.apiKey, model.id, ERA, freshCsv())).statusCode).toBe(201);

    // The clock cannot be moved: the key's expiry is put in the past in the database instead.
    await t.database.pool.query(`update api_keys set expires_at = now() - interval '1 second' where id = $1`, [key.id]);
    const me = expectProblem(await get('/v1/me', key.apiKey), 401);
    expect(me.detail).toMatch(/expired on \d{4}-\d\d-\d\dT/);
    // It says who can make a new key: not this one.
    expect(me.detail).toMatch(/it cannot make a new one\. An admin can issue one .*POST \/v1\/accounts\/\{id\}\/keys.*POST \/v1\/me\/keys/);
    // This process remembered the key live with its old expiry; the write's own check refuses it.
    expectProblem(await submitCsv(t.app, key.apiKey, model.id, ERA, freshCsv()), 401);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/active', headers: bearer(key.apiKey) }), 401);
    const { rows } = await t.database.pool.query('select count(*)::int as n from submissions where model_id = $1', [model.id]);
    expect(rows[0].n).toBe(1);
  });
});

describe('keys an account creates for itself', () => {
  it('are issued, listed without secrets, and revoked by their owner only', async () => {
    const author = await createAccount(t.app, 'author');
    const stranger = await createAccount(t.app, 'author');
    const created = await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(author.apiKey), payload: { scopes: ['submit', 'read'] } });
    expect(created.statusCode).toBe(201);
    const key = created.json<IssuedKey>();
    expect(key).toMatchObject({ accountId: author.id, scopes: ['submit', 'read'], expiresAt: null });
    expect((await get('/v1/me', key.apiKey)).json()).toMatchObject({ id: author.id, role: 'author' });

    const listed = (await get('/v1/me/keys', author.apiKey)).json<{ keys: { id: string; hint: string; scopes: string[] }[] }>();
    expect(listed.keys.map((k) => k.id).sort()).toEqual([author.keyId, key.id].sort());
    expect(JSON.stringify(listed)).not.toContain(key.apiKey);
    expect(listed.keys.find((k) => k.id === key.id)?.hint).toBe(key.apiKey.slice(0, 9));

    // A scoped key cannot mint keys (it could widen itself), nor revoke them.
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(key.apiKey), payload: { scopes: ['all'] } }), 403);
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/v1/me/keys/${key.id}`, headers: bearer(stranger.apiKey) }), 404);
    expect((await get('/v1/me', key.apiKey)).statusCode).toBe(200);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/v1/me/keys/${key.id}`, headers: bearer(author.apiKey) });
    expect(revoked.statusCode).toBe(200);
    expectProblem(await get('/v1/me', key.apiKey), 401);

    const audit = (await get('/v1/audit-log', ADMIN_KEY)).json<{ entries: { action: string; actorId: string; details: { keyId?: string; scopes?: string[] } }[] }>();
    const entries = audit.entries.filter((e) => e.details?.keyId === key.id);
    expect(entries.map((e) => e.action).sort()).toEqual(['key.create', 'key.revoke']);
    expect(entries.every((e) => e.actorId === author.id)).toBe(true);
    expect(entries.find((e) => e.action === 'key.create')?.details.scopes).toEqual(['submit', 'read']);
  });

  it(`stop at ${SELF_SERVICE_KEYS} live keys per account, counted in the database`, async () => {
    const author = await createAccount(t.app, 'author');
    const mint = () => t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(author.apiKey), payload: { scopes: ['read'] } });
    // Concurrent requests: the account's row lock makes them count one after another.
    const statuses = (await Promise.all(Array.from({ length: SELF_SERVICE_KEYS + 5 }, mint))).map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(SELF_SERVICE_KEYS - 1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(6);
    const { rows } = await t.database.pool.query('select count(*)::int as n from api_keys where account_id = $1 and revoked_at is null', [author.id]);
    expect(rows[0].n).toBe(SELF_SERVICE_KEYS);
  });
});
