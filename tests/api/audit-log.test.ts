import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra } from '../support/fixtures.js';
import { PAB_POLICY, closedEraWithRun, policyUniverse } from '../support/policies.js';

interface Entry {
  id: number;
  at: string;
  actorId: string | null;
  actorName: string | null;
  keyId: string | null;
  action: string;
  subject: string;
  reason: string | null;
  details: unknown;
}

let t: TestApp;
let admin: Awaited<ReturnType<typeof createAccount>>;
let operator: Awaited<ReturnType<typeof createAccount>>;
let author: Awaited<ReturnType<typeof createAccount>>;

async function page(query: string, key = admin.apiKey) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/audit-log${query}`, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`audit-log: ${res.statusCode} ${res.body}`);
  return res.json<{ entries: Entry[]; nextCursor: number | null }>();
}

beforeAll(async () => {
  t = await createTestApp();
  admin = await createAccount(t.app, 'admin', 'auditor');
  operator = await createAccount(t.app, 'operator', 'ops');
  author = await createAccount(t.app, 'author', 'quant');
});
afterAll(async () => t.close());

describe('GET /v1/audit-log', () => {
  it('is for admins only', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/audit-log' }), 401);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/audit-log', headers: bearer(author.apiKey) }), 403);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/audit-log', headers: bearer(operator.apiKey) }), 403);
    expect((await t.app.inject({ method: 'GET', url: '/v1/audit-log', headers: bearer(admin.apiKey) })).statusCode).toBe(200);
  });

  it('refuses a cursor beyond the id range with a 400 naming it', async () => {
    for (const before of ['1e30', '9223372036854775808', '0']) {
      const body = expectProblem(await t.app.inject({ method: 'GET', url: `/v1/audit-log?before=${before}`, headers: bearer(admin.apiKey) }), 400);
      expect(JSON.stringify(body)).toContain('before');
    }
  });

  it('records every operator and admin change with its actor', async () => {
    const key = await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(admin.apiKey) });
    const keyId = key.json().id as string;
    await t.app.inject({ method: 'DELETE', url: `/v1/keys/${keyId}`, headers: bearer(admin.apiKey) });

    const rows = policyUniverse(40, 'a_');
    await closedEraWithRun(t.app, 5, rows, author.apiKey, operator.apiKey);
    expect((await t.app.inject({ method: 'POST', url: '/v1/eras/5/meta-model/compute', headers: bearer(operator.apiKey) })).statusCode).toBe(200);
    const target = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/5/targets/target',
      headers: bearer(operator.apiKey),
      payload: { ids: rows.map((r) => r.id), values: rows.map((_, i) => (i % 5) / 4) },
    });
    expect(target.statusCode, target.body).toBe(200);
    const resolved = await t.app.inject({ method: 'POST', url: '/v1/eras/5/resolve', headers: bearer(operator.apiKey) });
    expect(resolved.statusCode, resolved.body).toBe(200);

    const policy = (await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: PAB_POLICY })).json();
    await t.app.inject({ method: 'POST', url: `/v1/policies/${policy.id}/activate`, headers: bearer(admin.apiKey), payload: { reason: 'first' } });
    const second = (await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: PAB_POLICY })).json();
    await t.app.inject({ method: 'POST', url: `/v1/policies/${second.id}/activate`, headers: bearer(admin.apiKey), payload: { reason: 'second' } });

    const { entries } = await page('?limit=1000');
    const bootstrap = entries.find((e) => e.action === 'account.bootstrap')!;
    const by = (action: string, subject?: string) => entries.filter((e) => e.action === action && (subject === undefined || e.subject === subject));
    const bootstrapId = bootstrap.subject.slice('account:'.length);
    // The three accounts of this file, by the bootstrap admin; the admin that confirmed "auditor", by the command line.
    expect(by('account.create').map((e) => e.actorId)).toEqual([bootstrapId, bootstrapId, null, bootstrapId]);
    expect(by('account.create').map((e) => e.actorName)).toEqual(['bootstrap-admin', 'bootstrap-admin', 'command line', 'bootstrap-admin']);
    expect(bootstrap).toMatchObject({ actorId: null, actorName: 'BOOTSTRAP_ADMIN_KEY', keyId: null });
    expect(by('account.create', `account:${author.id}`)[0].details).toMatchObject({ name: 'quant', role: 'author' });
    expect(by('key.create', `account:${author.id}`)[0]).toMatchObject({ actorId: admin.id, actorName: 'auditor', keyId: admin.keyId, details: { keyId } });
    expect(by('key.revoke', `account:${author.id}`)[0]).toMatchObject({ actorId: admin.id, details: { keyId } });
    expect(by('era.create', 'era:5')).toHaveLength(1);
    expect(by('universe.replace', 'era:5')[0].details).toMatchObject({ after: { count: 40 } });
    expect(by('era.close', 'era:5')[0]).toMatchObject({ actorId: operator.id, actorName: 'ops', keyId: operator.keyId });
    expect(by('metamodel.recompute', 'era:5')[0].actorId).toBe(operator.id);
    expect(by('target.upload', 'era:5')[0].actorId).toBe(operator.id);
    expect(by('era.resolve', 'era:5')[0].actorId).toBe(operator.id);
    expect(by('policy.create')).toHaveLength(2);
    expect(by('policy.activate').map((e) => e.reason)).toEqual(['second', 'first']);
    expect(by('policy.activate').map((e) => [e.actorName, e.keyId])).toEqual([['auditor', admin.keyId], ['auditor', admin.keyId]]);
    const bootstrapKey = (bootstrap.details as { keyId: string }).keyId;
    expect(by('policy.create').map((e) => [e.actorName, e.keyId])).toEqual([['bootstrap-admin', bootstrapKey], ['bootstrap-admin', bootstrapKey]]);
    expect(by('policy.retire', `policy:${policy.id}`)[0]).toMatchObject({ actorId: admin.id, reason: 'second' });
    for (const entry of entries) {
      expect(entry.at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(typeof entry.subject).toBe('string');
    }
  });

  it('filters by subject and by time', async () => {
    const eraFive = await page('?subject=era:5');
    expect(eraFive.entries.length).toBeGreaterThanOrEqual(6);
    expect(eraFive.entries.every((e) => e.subject === 'era:5')).toBe(true);

    const all = (await page('?limit=1000')).entries;
    const pivot = all[Math.floor(all.length / 2)];
    const from = (await page(`?from=${encodeURIComponent(pivot.at)}&limit=1000`)).entries;
    expect(from.length).toBeGreaterThan(0);
    expect(from.every((e) => e.at >= pivot.at)).toBe(true);
    const to = (await page(`?to=${encodeURIComponent(pivot.at)}&limit=1000`)).entries;
    expect(to.every((e) => e.at <= pivot.at)).toBe(true);
    // Each entry is in one side or the other (or both, at the pivot instant).
    expect(new Set([...from, ...to].map((e) => e.id)).size).toBe(all.length);

    expect((await page(`?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).entries).toEqual([]);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/audit-log?from=yesterday', headers: bearer(admin.apiKey) }), 400);
    const reversed = `?from=${encodeURIComponent(new Date().toISOString())}&to=${encodeURIComponent(new Date(0).toISOString())}`;
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/audit-log${reversed}`, headers: bearer(admin.apiKey) }), 400);
  });

  it('pages newest first through a before-cursor, without gaps or repeats', async () => {
    for (let n = 100; n < 125; n++) await createEra(t.app, { number: n }, operator.apiKey);
    const all = (await page('?limit=1000')).entries;
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => b - a));

    const seen: Entry[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const next: { entries: Entry[]; nextCursor: number | null } = await page(`?limit=7${cursor === null ? '' : `&before=${cursor}`}`);
      expect(next.entries.length).toBeLessThanOrEqual(7);
      seen.push(...next.entries);
      cursor = next.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(pages).toBe(Math.ceil(all.length / 7));

    // Default page size is 100; the limit is 1..1000.
    expect((await page('')).entries).toHaveLength(Math.min(100, all.length));
    for (const bad of ['limit=0', 'limit=1001', 'limit=ten', 'before=-1', 'colour=red']) {
      expectProblem(await t.app.inject({ method: 'GET', url: `/v1/audit-log?${bad}`, headers: bearer(admin.apiKey) }), 400);
    }
  });

  it('is append-only in the database', async () => {
    await expect(t.database.pool.query(`update audit_log set reason = 'rewritten'`)).rejects.toThrow(/append-only/);
    await expect(t.database.pool.query(`delete from audit_log`)).rejects.toThrow(/append-only/);
    await expect(t.database.pool.query(`truncate audit_log`)).rejects.toThrow(/append-only/);
  });
});
