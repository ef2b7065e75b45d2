import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { bearer } from './app.js';
import { createModel, liveIds, predictionsCsv, rng, submitCsv, universeCsv } from './fixtures.js';

/**
 * A round through the service on whatever database `app` runs on: accounts and keys (a scoped one
 * too), the author's wallet credited by the operator, an era and its universe, two staked models submitting, the close and the meta-model,
 * a target scoring them, and the resolution. Each step must answer as it does on a fresh database.
 */
export async function smokeCheck(app: FastifyInstance, adminKey: string, era = 1) {
  const post = (url: string, key: string, payload?: object) => app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });
  const account = async (role: string) => {
    const res = await post('/v1/accounts', adminKey, { name: `smoke-${role}`, role });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; apiKey: string }>();
  };
  const operator = await account('operator');
  const author = await account('author');
  const submitKey = await post('/v1/me/keys', author.apiKey, { scopes: ['submit'] });
  expect(submitKey.statusCode, submitKey.body).toBe(201);
  // Stakes are paid from the author's wallet (the default STAKE_FUNDING=wallet): the operator credits it first.
  const credited = await post(`/v1/accounts/${author.id}/wallet/credits`, operator.apiKey, { amount: '200', reference: `smoke round ${era}` });
  expect(credited.statusCode, credited.body).toBe(201);

  const ids = liveIds(40, 'sm');
  const created = await post('/v1/eras', operator.apiKey, {
    number: era,
    opensAt: new Date(Date.now() - 3_600_000).toISOString(),
    closesAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  expect(created.statusCode, created.body).toBe(201);
  const universe = await app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: { ...bearer(operator.apiKey), 'content-type': 'text/csv' }, payload: universeCsv(ids) });
  expect(universe.statusCode, universe.body).toBe(200);

  const random = rng(era);
  for (const name of ['smoke_a', 'smoke_b']) {
    const model = await createModel(app, author.apiKey, `${name}_${era}`, '100');
    const submitted = await submitCsv(app, (submitKey.json<{ apiKey: string }>()).apiKey, model.id, era, predictionsCsv(ids, ids.map(() => random())));
    expect(submitted.statusCode, submitted.body).toBe(201);
  }
  const wallet = await app.inject({ method: 'GET', url: '/v1/me/wallet', headers: bearer(author.apiKey) });
  expect(wallet.json()).toMatchObject({ balance: '0', held: '0', available: '0' });

  const closed = await post(`/v1/eras/${era}/close`, operator.apiKey);
  expect(closed.statusCode, closed.body).toBe(200);
  expect((closed.json<{ run: { models: number } }>()).run.models).toBe(2);
  const meta = await app.inject({ method: 'GET', url: `/v1/eras/${era}/meta-model`, headers: bearer(operator.apiKey) });
  expect((meta.json<{ rows: unknown[] }>()).rows).toHaveLength(ids.length);

  const target = `id,target\n${ids.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][i % 5]}`).join('\n')}\n`;
  const scored = await app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/target`, headers: { ...bearer(operator.apiKey), 'content-type': 'text/csv' }, payload: target });
  expect(scored.statusCode, scored.body).toBe(200);
  const scores = await app.inject({ method: 'GET', url: `/v1/eras/${era}/scores?target=target`, headers: bearer(operator.apiKey) });
  expect((scores.json<{ scores: unknown[] }>()).scores).toHaveLength(2);
  const resolved = await post(`/v1/eras/${era}/resolve`, operator.apiKey);
  expect(resolved.statusCode, resolved.body).toBe(200);
}
