import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { closeEra } from '../support/metamodel.js';
import { closedEraWithRun, policyUniverse, putUniverseRows } from '../support/policies.js';
import { createEra, createModel, predictionsCsv, submitCsv } from '../support/fixtures.js';

/*
 * A version activated for an era that has not closed is `scheduled` until that era closes, also
 * when that era is the one open now (docs/policies.md); the changelog's ranges speak of closed eras.
 */

const ROWS = policyUniverse(40, 'ps');
let t: TestApp;
let checker: string;
let author: string;

beforeAll(async () => {
  t = await createTestApp();
  checker = (await createAccount(t.app, 'admin', 'checker')).apiKey;
  author = (await createAccount(t.app, 'author')).apiKey;
  await closedEraWithRun(t.app, 104, ROWS, author);
});
afterAll(async () => t.close());

async function openEra(number: number) {
  await createEra(t.app, { number });
  await putUniverseRows(t.app, number, ROWS);
  const model = await createModel(t.app, author, `open_${number}`, '10');
  const ids = ROWS.map((r) => r.id);
  const res = await submitCsv(t.app, author, model.id, number, predictionsCsv(ids, ids.map((_, i) => (i + 1) / (ids.length + 1))));
  expect(res.statusCode, res.body).toBe(201);
}

async function draft(name: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(ADMIN_KEY),
    payload: { name, rules: [{ id: 'one', match: { field: 'id', op: 'in', value: [ROWS[0].id] }, action: { type: 'exclude' } }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function activate(id: string, fromEra: number) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker), payload: { reason: 'board minute', fromEra } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const changelog = async () =>
  ((await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' })).json().entries as { version: number; fromEra: number; toEra: number | null; status: string }[]).map(
    (e) => [e.version, e.fromEra, e.toEra, e.status],
  );
const statusOf = async (id: string) => (await t.app.inject({ method: 'GET', url: `/v1/policies/${id}`, headers: bearer(ADMIN_KEY) })).json().status;
const active = async () => (await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json();

describe('activating a version for the era open now', () => {
  let v1: string;
  let v2: string;

  it('is scheduled until that era closes, then active', async () => {
    await openEra(105);
    v1 = await draft('sched');
    expect(await activate(v1, 105)).toMatchObject({ id: v1, status: 'scheduled', fromEra: 105, retired: null });
    expect(await statusOf(v1)).toBe('scheduled');
    expect(await active()).toMatchObject({ id: null, upcoming: { id: v1, fromEra: 105 }, nextEra: 105 });
    // No era has closed under it: no range yet.
    expect(await changelog()).toEqual([[1, 105, null, 'scheduled']]);

    await closeEra(t.app, 105, ADMIN_KEY);
    expect(await statusOf(v1)).toBe('active');
    expect(await active()).toMatchObject({ id: v1, fromEra: 105, upcoming: null, nextEra: 106 });
    expect(await changelog()).toEqual([[1, 105, null, 'active']]);
  });

  it("the changelog's ranges say which closed eras each version governed", async () => {
    await openEra(106);
    v2 = await draft('sched');
    expect(await activate(v2, 106)).toMatchObject({ id: v2, status: 'scheduled', fromEra: 106, retired: null });
    // v2 has not taken force: v1 still governs, and only era 105 has closed under it.
    expect(await changelog()).toEqual([
      [1, 105, null, 'active'],
      [2, 106, null, 'scheduled'],
    ]);
    await closeEra(t.app, 106, ADMIN_KEY);
    expect(await changelog()).toEqual([
      [1, 105, 105, 'retired'],
      [2, 106, null, 'active'],
    ]);
    expect(await statusOf(v1)).toBe('retired');
    expect(await statusOf(v2)).toBe('active');
  });

  it('a later activation at once replaces a schedule for the open era', async () => {
    await openEra(107);
    const v3 = await draft('sched');
    const v4 = await draft('sched');
    expect(await activate(v3, 107)).toMatchObject({ status: 'scheduled' });
    const now = await t.app.inject({ method: 'POST', url: `/v1/policies/${v4}/activate`, headers: bearer(checker), payload: { reason: 'at once' } });
    expect(now.json()).toMatchObject({ id: v4, status: 'active', fromEra: 107, retired: v2 });
    expect(await statusOf(v3)).toBe('draft');
    expect(await active()).toMatchObject({ id: v4, upcoming: null });
    const closed = await closeEra(t.app, 107, ADMIN_KEY);
    expect(JSON.stringify(closed)).toContain(v4);
  });
});
