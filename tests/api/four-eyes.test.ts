import { drizzle } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockAccount, markDisabled } from '../../src/db/accounts.js';
import * as schema from '../../src/db/schema.js';
import { auditService } from '../../src/services/audit.js';
import { bundlesService } from '../../src/services/bundles.js';
import { erasService } from '../../src/services/eras.js';
import { verifyService } from '../../src/services/verify.js';
import { ADMIN_KEY, bearer, commandLineAdmin, createAccount, createTestApp, expectProblem, type TestApp, untilWaitingForLock } from '../support/app.js';
import { run } from '../support/bundles.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';
import { PAB_POLICY } from '../support/policies.js';

/*
 * Four-eyes means two people: an admin can neither mint a key for another admin's account nor
 * make a second admin over HTTP and approve with it, since such an admin can do nothing until a
 * different admin confirms it. Every audit entry names the actor and the key it used.
 */

interface Entry {
  id: number;
  actorId: string | null;
  actorName: string | null;
  keyId: string | null;
  action: string;
  subject: string;
  details: Record<string, unknown> | null;
}

interface Account {
  id: string;
  name: string;
  role: string;
  status: string;
  createdAt: string;
  createdBy: string | null;
  keys: { id: string; hint: string; scopes: string[] }[];
}

let t: TestApp;
let bob: Awaited<ReturnType<typeof commandLineAdmin>>;
let bootstrapId: string;

const post = (url: string, key: string, payload?: object) => t.app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });
const get = (url: string, key: string) => t.app.inject({ method: 'GET', url, headers: bearer(key) });

async function draft(key = ADMIN_KEY): Promise<string> {
  const res = await post('/v1/policies', key, PAB_POLICY);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function auditEntries(query = '?limit=1000'): Promise<Entry[]> {
  const res = await get(`/v1/audit-log${query}`, ADMIN_KEY);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().entries as Entry[];
}

async function accounts(query: string): Promise<Account[]> {
  const res = await get(`/v1/accounts${query}`, ADMIN_KEY);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().accounts as Account[];
}

beforeAll(async () => {
  t = await createTestApp();
  bob = await commandLineAdmin(t.app, 'bob');
  bootstrapId = (await get('/v1/me', ADMIN_KEY)).json().id as string;
});
afterAll(async () => t.close());

describe('keys for admin accounts', () => {
  it("no admin mints a key for another admin's account, so none approves its own draft as that admin", async () => {
    const policy = await draft();
    for (const payload of [undefined, { scopes: ['all'] }, { scopes: ['read'] }]) {
      const refused = expectProblem(await post(`/v1/accounts/${bob.id}/keys`, ADMIN_KEY, payload), 403);
      expect(refused.detail).toMatch(/another admin/);
      expect(refused.detail).toMatch(/POST \/v1\/me\/keys/);
    }
    // Nothing was issued: bob still holds his one key.
    expect((await accounts(`?q=${bob.id}`))[0].keys.map((k) => k.id)).toEqual([bob.keyId]);
    // The author of the draft still cannot activate it.
    expect(expectProblem(await post(`/v1/policies/${policy}/activate`, ADMIN_KEY, { reason: 'self' }), 403).detail).toMatch(/four-eyes/);
    // Keys for its own account and for non-admin accounts are still issued.
    expect((await post(`/v1/accounts/${bootstrapId}/keys`, ADMIN_KEY, { scopes: ['read'] })).statusCode).toBe(201);
    const author = await createAccount(t.app, 'author');
    expect((await post(`/v1/accounts/${author.id}/keys`, ADMIN_KEY)).statusCode).toBe(201);
  });
});

describe('an admin made over HTTP', () => {
  it('is pending, and its key gets 403 everywhere, naming why, until a different admin confirms it', async () => {
    const policy = await draft();
    const res = await post('/v1/accounts', ADMIN_KEY, { name: 'carol', role: 'admin' });
    expect(res.statusCode, res.body).toBe(201);
    const carol = res.json<{ id: string; name: string; role: string; status: string; apiKey: string; keyId: string }>();
    expect(carol).toMatchObject({ name: 'carol', role: 'admin', status: 'pending' });
    expect(carol.apiKey).toMatch(/^sw_/);

    // Refused on every kind of route, public ones included, before anything changes.
    for (const [method, url, payload] of [
      ['GET', '/v1/policies', undefined],
      ['GET', '/v1/me', undefined],
      ['GET', '/v1/audit-log', undefined],
      ['GET', '/v1/policies/active', undefined],
      ['POST', `/v1/policies/${policy}/activate`, { reason: 'sock puppet' }],
      ['POST', '/v1/me/keys', {}],
      ['POST', `/v1/accounts/${carol.id}/confirm`, undefined],
    ] as const) {
      const refused = expectProblem(await t.app.inject({ method, url, headers: bearer(carol.apiKey), ...(payload ? { payload } : {}) }), 403);
      expect(refused.detail, `${method} ${url}`).toMatch(/awaits confirmation by another admin/);
    }
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/active' }), 404);
    // Nor can anyone mint her a usable key meanwhile.
    expectProblem(await post(`/v1/accounts/${carol.id}/keys`, ADMIN_KEY), 403);

    // The admin who made her cannot confirm her.
    expect(expectProblem(await post(`/v1/accounts/${carol.id}/confirm`, ADMIN_KEY), 403).detail).toMatch(/different admin must confirm/);
    expect((await accounts(`?q=${carol.id}`))[0]).toMatchObject({ status: 'pending', createdBy: bootstrapId });

    // Another admin can; then she is a second person and may approve the draft.
    const confirmed = await post(`/v1/accounts/${carol.id}/confirm`, bob.apiKey);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ id: carol.id, name: 'carol', role: 'admin', status: 'active', createdBy: bootstrapId, keys: [{ id: carol.keyId }] });
    expectProblem(await post(`/v1/accounts/${carol.id}/confirm`, bob.apiKey), 409);
    expect((await get('/v1/me', carol.apiKey)).json()).toMatchObject({ id: carol.id, status: 'active' });
    const activated = await post(`/v1/policies/${policy}/activate`, carol.apiKey, { reason: 'reviewed' });
    expect(activated.statusCode, activated.body).toBe(200);

    const entries = await auditEntries();
    expect(entries.find((e) => e.action === 'policy.activate' && e.subject === `policy:${policy}`)).toMatchObject({
      actorId: carol.id,
      actorName: 'carol',
      keyId: carol.keyId,
    });
    expect(entries.find((e) => e.action === 'account.confirm' && e.subject === `account:${carol.id}`)).toMatchObject({
      actorId: bob.id,
      actorName: 'bob',
      keyId: bob.keyId,
    });
    expect(entries.find((e) => e.action === 'account.create' && e.subject === `account:${carol.id}`)).toMatchObject({
      actorId: bootstrapId,
      actorName: 'bootstrap-admin',
      details: { status: 'pending' },
    });
  });

  it('of another role is active at once', async () => {
    for (const role of ['operator', 'author'] as const) {
      const res = await post('/v1/accounts', ADMIN_KEY, { name: `${role}-now`, role });
      expect(res.json()).toMatchObject({ role, status: 'active' });
      expectProblem(await post(`/v1/accounts/${res.json().id}/confirm`, bob.apiKey), 409);
    }
  });
});

describe('an approval and a disabling at once', () => {
  it('the approval waits for the disabling in flight and is refused once it commits', async () => {
    const policy = await draft();
    const approver = await createAccount(t.app, 'admin', 'gina');
    // A disabling locked and written but not committed, as a slow request on another replica would hold it.
    const client = await t.database.pool.connect();
    try {
      await client.query('begin');
      const tx = drizzle(client, { schema });
      await lockAccount(tx, approver.id);
      await markDisabled(tx, approver.id);
      let settled = false;
      const approving = post(`/v1/policies/${policy}/activate`, approver.apiKey, { reason: 'racing' }).finally(() => {
        settled = true;
      });
      // Until the approval is either done or waiting for a lock (it must be the latter: the approver's row).
      await untilWaitingForLock(t.database.pool, () => settled);
      await client.query('commit');
      expect(expectProblem(await approving, 403).detail).toMatch(/no longer active/);
    } finally {
      client.release();
    }
    expect((await auditEntries()).some((e) => e.action === 'policy.activate' && e.subject === `policy:${policy}`)).toBe(false);
  });
});

describe('the command line', () => {
  it('makes an admin that is active at once, and its audit entry names the command line', async () => {
    const cli = await run('npx', ['tsx', 'src/cli.ts', 'create-key', '--role', 'admin', '--name', 'root-of-trust'], {
      ...process.env,
      DATABASE_URL: t.database.url,
      LOG_LEVEL: 'silent',
    });
    expect(cli.code, cli.stderr).toBe(0);
    const secret = /api key \(shown once\): (\S+)/.exec(cli.stdout)![1];
    const me = (await get('/v1/me', secret)).json();
    expect(me).toMatchObject({ name: 'root-of-trust', role: 'admin', status: 'active' });
    expect((await auditEntries()).find((e) => e.action === 'account.create' && e.subject === `account:${me.id}`)).toMatchObject({
      actorId: null,
      actorName: 'command line',
      keyId: null,
    });
  }, 60_000);
});

describe('GET /v1/accounts', () => {
  it('lists accounts by name with status and live key summaries, by role and search', async () => {
    const dora = await createAccount(t.app, 'author', 'dora_100%');
    const admins = await accounts('?role=admin');
    expect(admins.every((a) => a.role === 'admin')).toBe(true);
    expect(admins.map((a) => a.name)).toEqual([...admins.map((a) => a.name)].sort());
    expect(admins.find((a) => a.id === bob.id)).toMatchObject({ status: 'active', createdBy: null, keys: [{ id: bob.keyId, scopes: ['all'] }] });
    const found = await accounts('?q=DORA_100%25');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ id: dora.id, role: 'author', status: 'active', keys: [{ id: dora.keyId }] });
    expect(found[0].keys[0].hint).toBe(dora.apiKey.slice(0, 9));
    expect(JSON.stringify(found)).not.toContain(dora.apiKey);
    // `%` and `_` are themselves, not patterns.
    expect(await accounts('?q=%25')).toEqual(found);
    expect(await accounts('?q=nobody-by-that-name')).toEqual([]);
    expect(JSON.stringify(expectProblem(await get('/v1/accounts?role=root', ADMIN_KEY), 400))).toMatch(/role/);
    expect((await accounts('?limit=1')).length).toBe(1);
  });
});

describe('POST /v1/accounts/{id}/disable', () => {
  it("revokes every key of the account at once (401, also a key remembered for submissions) and keeps it from getting new ones", async () => {
    const era = 7;
    const ids = liveIds(20, 'fe');
    await createEra(t.app, { number: era, opensAt: new Date(Date.now() - 60_000).toISOString(), closesAt: new Date(Date.now() + 3_600_000).toISOString() });
    await putUniverse(t.app, era, ids);
    const author = await createAccount(t.app, 'author', 'erin');
    const second = (await post('/v1/me/keys', author.apiKey, { scopes: ['submit'] })).json<{ id: string; apiKey: string }>();
    const model = await createModel(t.app, author.apiKey, 'erin_model');
    const csv = (shift: number) => predictionsCsv(ids, ids.map((_, i) => ((i + shift) % 20) / 20));
    expect((await submitCsv(t.app, second.apiKey, model.id, era, csv(0))).statusCode).toBe(201);

    const res = await post(`/v1/accounts/${author.id}/disable`, ADMIN_KEY, { reason: 'left the tournament' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: author.id, status: 'disabled', keys: [] });
    expectProblem(await get('/v1/me', author.apiKey), 401);
    expectProblem(await submitCsv(t.app, second.apiKey, model.id, era, csv(1)), 401);
    expect(expectProblem(await post(`/v1/accounts/${author.id}/keys`, ADMIN_KEY), 409).detail).toMatch(/disabled/);
    // Again: nothing changes.
    expect((await post(`/v1/accounts/${author.id}/disable`, ADMIN_KEY)).json()).toMatchObject({ status: 'disabled' });

    const entries = (await auditEntries()).filter((e) => e.action === 'account.disable' && e.subject === `account:${author.id}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorName: 'bootstrap-admin', details: { before: 'active' } });
    expect((entries[0].details!.revokedKeys as string[]).sort()).toEqual([author.keyId, second.id].sort());
  });

  it('is refused for your own account; a pending admin can be disabled', async () => {
    expect(expectProblem(await post(`/v1/accounts/${bootstrapId}/disable`, ADMIN_KEY), 403).detail).toMatch(/your own account/);
    const pending = await createAccount(t.app, 'admin', 'frank', { confirm: false });
    expect((await post(`/v1/accounts/${pending.id}/disable`, bob.apiKey)).json()).toMatchObject({ status: 'disabled' });
    expectProblem(await get('/v1/me', pending.apiKey), 401);
    expectProblem(await post(`/v1/accounts/${pending.id}/confirm`, bob.apiKey), 409);
  });
});

describe('the audit log', () => {
  it('pages newest first with limit and before, each entry naming its actor and key, and the chain verifies', async () => {
    const all = await auditEntries();
    const first = await auditEntries('?limit=2');
    expect(first.map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    const next = await auditEntries(`?limit=2&before=${first[1].id}`);
    expect(next.map((e) => e.id)).toEqual(all.slice(2, 4).map((e) => e.id));
    for (const entry of all) {
      expect(entry.actorName, `${entry.action} ${entry.id}`).toBeTruthy();
      if (entry.actorId !== null) expect(entry.keyId, `${entry.action} ${entry.id}`).toMatch(/^[0-9a-f-]{36}$/);
    }
    const audit = auditService(t.database.db);
    const eras = erasService({ db: t.database.db, audit, config: t.config });
    const report = await verifyService({ db: t.database.db, eras, bundles: bundlesService({ db: t.database.db, eras }) }).verify();
    expect(report.audit.break).toBeNull();
    expect(report.audit.checked).toBe(all.length);
  });
});
