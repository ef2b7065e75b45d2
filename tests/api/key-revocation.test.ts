import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, startReplica, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';

// The submission route takes a key it has seen live from memory and lets store_submission check
// it in the write's own round trip. Revoking the key on any replica must still stop it at once.

let t: TestApp;
let other: Awaited<ReturnType<typeof startReplica>>;
const ERA = 5;
const ids = liveIds(30, 'kr');
const random = rng(7);
const freshCsv = () => predictionsCsv(ids, ids.map(() => random()));

beforeAll(async () => {
  t = await createTestApp();
  other = await startReplica(t, { scheduler: false });
  await createEra(t.app, { number: ERA, opensAt: new Date(Date.now() - 60_000).toISOString() });
  await putUniverse(t.app, ERA, ids);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

async function submissionCount(modelId: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/models/${modelId}/submissions`, headers: bearer(ADMIN_KEY) });
  expect(res.statusCode).toBe(200);
  return (res.json<{ submissions: unknown[] }>()).submissions.length;
}

/** An author whose key this replica has already used to submit, so it remembers the key. */
async function rememberedAuthor(name: string) {
  const author = await createAccount(t.app, 'author', name);
  const model = await createModel(t.app, author.apiKey, name);
  expect((await submitCsv(t.app, author.apiKey, model.id, ERA, freshCsv())).statusCode).toBe(201);
  return { author, model };
}

const revokeOn = async (app: TestApp['app'], keyId: string) =>
  expect((await app.inject({ method: 'DELETE', url: `/v1/keys/${keyId}`, headers: bearer(ADMIN_KEY) })).statusCode).toBe(200);

describe('a key revoked on another replica', () => {
  it('cannot submit on the replica that remembers it, and nothing is stored', async () => {
    const { author, model } = await rememberedAuthor('revoked_elsewhere');
    await revokeOn(other.app, author.keyId);
    const refused = expectProblem(await submitCsv(t.app, author.apiKey, model.id, ERA, freshCsv()), 401);
    expect(refused.detail).toMatch(/revoked/);
    expect(await submissionCount(model.id)).toBe(1);
    // Forgotten after the refusal: the next request is refused by the lookup too.
    expectProblem(await submitCsv(t.app, author.apiKey, model.id, ERA, freshCsv()), 401);
  });

  it('is told 401, not what else is wrong with the request', async () => {
    const { author, model } = await rememberedAuthor('revoked_bad_body');
    const stranger = await createModel(t.app, (await createAccount(t.app, 'author')).apiKey, 'not_theirs');
    await revokeOn(other.app, author.keyId);
    expectProblem(await submitCsv(t.app, author.apiKey, model.id, ERA, 'id,prediction\nnot_an_id,2\n'), 401);
    expectProblem(await submitCsv(t.app, author.apiKey, stranger.id, ERA, freshCsv()), 401);
    expectProblem(await submitCsv(t.app, author.apiKey, model.id, 999, freshCsv()), 401);
    // Refusals from before the handler: the body's media type, its JSON, the parameters.
    const post = (url: string, headers: Record<string, string>, payload: string) =>
      t.app.inject({ method: 'POST', url, headers: { ...bearer(author.apiKey), ...headers }, payload });
    const url = `/v1/models/${model.id}/submissions?era=${ERA}`;
    expectProblem(await post(url, { 'content-type': 'application/xml' }, '<a/>'), 401);
    expectProblem(await post(url, { 'content-type': 'application/json' }, '{"ids": ['), 401);
    expectProblem(await post(`/v1/models/not-a-uuid/submissions?era=${ERA}`, { 'content-type': 'text/csv' }, freshCsv()), 401);
    expectProblem(await post(`/v1/models/${model.id}/submissions?era=-1`, { 'content-type': 'text/csv' }, freshCsv()), 401);
  });

  it('is told 401 rather than 403 when its role may not submit', async () => {
    const operator = await createAccount(t.app, 'operator');
    const model = await createModel(t.app, (await createAccount(t.app, 'author')).apiKey, 'operator_target');
    // The operator's key is looked up live and remembered, and refused for its role.
    expectProblem(await submitCsv(t.app, operator.apiKey, model.id, ERA, freshCsv()), 403);
    await revokeOn(other.app, operator.keyId);
    expectProblem(await submitCsv(t.app, operator.apiKey, model.id, ERA, freshCsv()), 401);
  });
});

describe('a key revoked on the same replica', () => {
  it('is refused at once, and an identical re-send is refused too', async () => {
    const { author, model } = await rememberedAuthor('revoked_here');
    const csv = freshCsv();
    expect((await submitCsv(t.app, author.apiKey, model.id, ERA, csv)).statusCode).toBe(201);
    await revokeOn(t.app, author.keyId);
    expectProblem(await submitCsv(t.app, author.apiKey, model.id, ERA, csv), 401);
    expectProblem(await submitCsv(t.app, author.apiKey, model.id, ERA, freshCsv()), 401);
    expect(await submissionCount(model.id)).toBe(2);
  });
});

describe('a live key', () => {
  it('keeps working from memory, on either replica, and its other keys are unaffected by a revocation', async () => {
    const { author, model } = await rememberedAuthor('still_live');
    const second = await t.app.inject({ method: 'POST', url: `/v1/accounts/${author.id}/keys`, headers: bearer(ADMIN_KEY) });
    expect(second.statusCode).toBe(201);
    const secondKey = second.json<{ id: string; apiKey: string }>();
    expect((await submitCsv(other.app, secondKey.apiKey, model.id, ERA, freshCsv())).statusCode).toBe(201);
    await revokeOn(other.app, secondKey.id);
    expect((await submitCsv(t.app, author.apiKey, model.id, ERA, freshCsv())).statusCode).toBe(201);
    expectProblem(await submitCsv(other.app, secondKey.apiKey, model.id, ERA, freshCsv()), 401);
  });
});
