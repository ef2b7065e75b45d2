import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse } from '../support/fixtures.js';

/*
 * A model's name works wherever a path takes a model id: every such route answers the same for
 * /v1/models/<name>/… as for /v1/models/<id>/….
 */

const IDS = liveIds(30, 'mn');
let t: TestApp;
let author: string;
let model: { id: string; name: string };

beforeAll(async () => {
  t = await createTestApp();
  author = (await createAccount(t.app, 'author')).apiKey;
  model = await createModel(t.app, author, 'named_model', '10');
  await createEra(t.app, { number: 1 });
  await putUniverse(t.app, 1, IDS);
});
afterAll(async () => t.close());

const get = (url: string, key = author) => t.app.inject({ method: 'GET', url, headers: bearer(key) });

/** Each route that takes `:modelId`, called with `ref` in its place. */
const CALLS: Record<string, (ref: string) => ReturnType<typeof get>> = {
  'PUT /v1/models/:modelId/stake': (ref) => t.app.inject({ method: 'PUT', url: `/v1/models/${ref}/stake`, headers: bearer(author), payload: { amount: '12.5' } }),
  'GET /v1/models/:modelId/stake': (ref) => get(`/v1/models/${ref}/stake`),
  'POST /v1/models/:modelId/submissions': (ref) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/models/${ref}/submissions?era=1`,
      headers: { ...bearer(author), 'content-type': 'text/csv' },
      payload: predictionsCsv(IDS, IDS.map((_, i) => (i + 1) / (IDS.length + 1))),
    }),
  'GET /v1/models/:modelId/submissions': (ref) => get(`/v1/models/${ref}/submissions`),
  'GET /v1/models/:modelId/scores': (ref) => get(`/v1/models/${ref}/scores`),
  'GET /v1/models/:modelId/performance': (ref) => get(`/v1/models/${ref}/performance`),
};

describe('a model named in a path', () => {
  it('covers every route that takes a model id', () => {
    const routes = t.app.routeTable.filter((r) => r.url.includes(':modelId') && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
    expect(routes.sort()).toEqual(Object.keys(CALLS).sort());
  });

  for (const [route, call] of Object.entries(CALLS)) {
    it(`${route}: the name answers as the id does`, async () => {
      const byName = await call(model.name);
      expect(byName.statusCode, byName.body).toBeLessThan(300);
      const byId = await call(model.id);
      expect(byId.statusCode, byId.body).toBeLessThan(300);
      // The same model: its id in the reply, and the same reply (a re-sent submission is the same receipt).
      expect(byName.json()).toEqual(byId.json());
      if ('modelId' in byName.json()) expect(byName.json().modelId).toBe(model.id);
    });
  }

  it('a name no model has is a 404 naming it; a malformed one a 400 saying what a model id or name looks like', async () => {
    for (const route of Object.keys(CALLS)) {
      const unknown = expectProblem(await CALLS[route]('no_such_model'), 404);
      expect(unknown.detail, route).toContain('no_such_model');
      const malformed = expectProblem(await CALLS[route]('Not-A-Name'), 400);
      expect(JSON.stringify(malformed), route).toMatch(/modelId.*model id \(a UUID\) or a model name/);
    }
  });

  it("another author's model by name is refused as by id: 403", async () => {
    const other = (await createAccount(t.app, 'author')).apiKey;
    expectProblem(await get(`/v1/models/${model.name}/stake`, other), 403);
    expectProblem(await get(`/v1/models/${model.name}/scores`, other), 403);
    // Staff read it by name.
    expect((await get(`/v1/models/${model.name}/performance`, ADMIN_KEY)).json().modelId).toBe(model.id);
  });

  it('says so in the OpenAPI parameter', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; description?: string }[] }>>;
    }>();
    const operations = Object.entries(spec.paths).filter(([path]) => path.includes('{modelId}'));
    expect(operations.length).toBeGreaterThanOrEqual(4);
    for (const [, methods] of operations) {
      for (const operation of Object.values(methods)) {
        const param = operation.parameters?.find((p) => p.in === 'path' && p.name === 'modelId');
        expect(param?.description).toMatch(/or its name/);
      }
    }
  });
});
