import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsService, hashSecret } from '../../src/services/accounts.js';
import { auditService } from '../../src/services/audit.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';

let t: TestApp;
let operatorKey: string;
let authorKey: string;

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('accounts and keys', () => {
  it('the bootstrap admin key works', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'bootstrap-admin', role: 'admin' });
  });

  it('replicas starting together with the same bootstrap key create it once, and all start', async () => {
    const secret = 'sw_test_bootstrap_race_key_0123456789';
    const replicas = Array.from({ length: 6 }, () => accountsService({ db: t.database.db, audit: auditService(t.database.db) }));
    await Promise.all(replicas.map((accounts) => accounts.ensureBootstrapAdmin(secret)));
    const { rows } = await t.database.pool.query('select count(*)::int as n from api_keys where secret_hash = $1', [hashSecret(secret)]);
    expect(rows[0].n).toBe(1);
  });

  it('an admin creates an account whose key is shown once and works', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: bearer(ADMIN_KEY),
      payload: { name: 'Ada', role: 'author' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'Ada', role: 'author', status: 'active' });
    expect(body.apiKey).toMatch(/^sw_[A-Za-z0-9_-]{43}$/);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(body.apiKey) });
    expect(me.json()).toEqual({ id: body.id, name: 'Ada', role: 'author', status: 'active' });
    const stored = await t.database.pool.query('select secret_hash from api_keys where id = $1', [body.keyId]);
    expect(stored.rows[0].secret_hash).not.toContain(body.apiKey);
    expect(stored.rows[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['operator', () => operatorKey],
    ['author', () => authorKey],
  ])('a %s may not create accounts, keys or revoke', async (_role, key) => {
    const create = await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(key()), payload: { name: 'x', role: 'admin' } });
    expectProblem(create, 403);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(key()) });
    const newKey = await t.app.inject({ method: 'POST', url: `/v1/accounts/${me.json().id}/keys`, headers: bearer(key()) });
    expectProblem(newKey, 403);
    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/keys/00000000-0000-4000-8000-000000000000`, headers: bearer(key()) });
    expectProblem(revoke, 403);
  });

  it('without a key, account routes are 401 and /v1/me too', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me' }), 401);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/accounts', payload: { name: 'x', role: 'admin' } }), 401);
  });

  it('an unknown key or a malformed header is 401', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer('sw_nope') }), 401);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Basic abc' } }), 401);
  });

  it('a second key for an account works, and revoking it takes effect at once', async () => {
    const author = await createAccount(t.app, 'author');
    const res = await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(201);
    const second = res.json();
    expect(second.accountId).toBe(author.id);
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(second.apiKey) })).statusCode).toBe(200);

    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/keys/${second.id}`, headers: bearer(ADMIN_KEY) });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().revokedAt).toBeTruthy();
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(second.apiKey) }), 401);
    // the account's first key is untouched
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(author.apiKey) })).statusCode).toBe(200);
  });

  it('keys for an unknown account and revoking an unknown key are 404', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expectProblem(await t.app.inject({ method: 'POST', url: `/v1/accounts/${id}/keys`, headers: bearer(ADMIN_KEY) }), 404);
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: bearer(ADMIN_KEY) }), 404);
  });

  it('records account, key and revocation changes in the audit log', async () => {
    const { rows } = await t.database.pool.query<{ action: string }>('select action from audit_log order by id');
    const actions = rows.map((r) => r.action);
    expect(actions).toContain('account.bootstrap');
    expect(actions).toContain('account.create');
    expect(actions).toContain('key.create');
    expect(actions).toContain('key.revoke');
  });
});

describe('problem+json', () => {
  it('validation errors list each problem with its path', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name: '', role: 'king', extra: 1 } });
    const body = expectProblem(res, 400);
    const paths = (body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.name', 'body.role']));
    expect(body).toHaveProperty('requestId');
    expect(res.headers['x-request-id']).toBe((body as unknown as { requestId: string }).requestId);
  });

  it('a malformed JSON body is a 400 problem, not a 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectProblem(res, 400);
  });

  it('an unknown route is a 404 problem', async () => {
    const body = expectProblem(await t.app.inject({ method: 'GET', url: '/v1/nowhere?x=1' }), 404);
    expect(body.detail).toContain('/v1/nowhere');
  });

  it('an unsupported content type is 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expectProblem(res, 415);
  });
});

describe('operational routes', () => {
  it('healthz and readyz answer', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('metrics are Prometheus text with request counts and latencies', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(res.body).toContain('http_request_duration_seconds_bucket');
  });

  it('serves OpenAPI 3 with the bearer scheme on protected routes, and the UI', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.paths['/v1/accounts'].post.security).toEqual([{ bearer: [] }]);
    expect(spec.paths['/v1/accounts'].post.requestBody.content['application/json'].schema.properties.role.enum).toEqual([
      'admin',
      'operator',
      'author',
    ]);
    expect(spec.paths['/healthz'].get.security).toBeUndefined();
    const ui = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('sets helmet security headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
  });
});

describe('OpenAPI references', () => {
  it('every $ref in the spec resolves to a component schema', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(spec.components.schemas, ref).toHaveProperty(ref);
  });
});
