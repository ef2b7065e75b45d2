import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, startReplica, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { eventually, startReceiver, verifySignature, type Received } from '../support/webhook-receiver.js';

/*
 * Webhooks end to end on two replicas of one database, both delivering from the job queue: a
 * round runs and every event type reaches the accounts that may see it, signed, once per 2xx.
 */

const ALL_TYPES = ['era.opened', 'era.closed', 'era.scored', 'era.resolved', 'policy.scheduled', 'policy.activated', 'submission.received', 'model.settled', 'stake.released'];
const ENV = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_RETRY_SCHEDULE: '0.3,0.3,0.3', WEBHOOK_QUEUE_MAINTENANCE_SECONDS: '1' };

let t: TestApp;
let replica: Awaited<ReturnType<typeof startReplica>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const failedOnce = new Set<string>();
let operatorKey: string;
let authorA: { id: string; apiKey: string };
let authorB: { id: string; apiKey: string };
const hooks: Record<string, { id: string; secret: string }> = {};
const models: Record<string, string> = {};

const ids = liveIds(40);
const random = rng(17);
const values = () => ids.map(() => random());

function bodies(path: string): { type: string; data: Record<string, unknown>; received: Received }[] {
  return receiver.received.filter((r) => r.path === path && r.status >= 200 && r.status < 300).map((r) => ({ ...JSON.parse(r.body), received: r }));
}

async function register(key: string, path: string, events = ALL_TYPES) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(key), payload: { url: receiver.url(path), events, description: path } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; secret: string; url: string; events: string[] }>();
}

beforeAll(async () => {
  receiver = await startReceiver((request) => {
    // The first era.closed to author A fails with a 500 and must come back with the same webhook-id.
    const id = String(request.headers['webhook-id']);
    if (request.path === '/a' && JSON.parse(request.body).type === 'era.closed' && !failedOnce.has(id)) {
      failedOnce.add(id);
      return 500;
    }
    if (request.path === '/gone') return 410;
    return 200;
  });
  t = await createTestApp(ENV, { deliveries: true });
  replica = await startReplica(t, { scheduler: false, deliveries: true });
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorA = await createAccount(t.app, 'author', 'author-a');
  authorB = await createAccount(t.app, 'author', 'author-b');
  hooks.a = await register(authorA.apiKey, '/a');
  hooks.b = await register(authorB.apiKey, '/b');
  hooks.gone = await register(authorB.apiKey, '/gone', ['era.opened', 'era.closed']);
});

afterAll(async () => {
  await replica?.close();
  await t?.close();
  await receiver?.close();
});

describe('registering a webhook', () => {
  it('returns a whsec_ secret of 32 random bytes once; the list shows no secret', async () => {
    expect(hooks.a.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(hooks.a.secret.slice(6), 'base64')).toHaveLength(32);
    const list = await t.app.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(authorA.apiKey) });
    expect(list.statusCode).toBe(200);
    expect(list.json().webhooks).toHaveLength(1);
    expect(list.body).not.toContain(hooks.a.secret);
    expect(list.json().webhooks[0]).not.toHaveProperty('secret');
  });

  it('refuses loopback, private, link-local and unique-local targets not listed, and plain http to unlisted hosts (400, nothing stored)', async () => {
    for (const url of ['http://127.0.0.2:9/x', 'https://10.1.2.3/x', 'https://192.168.0.10/x', 'https://172.20.0.1/x', 'https://169.254.169.254/latest', 'https://[::1]/x', 'https://[fd00::1]/x', 'https://[fe80::1]/x', 'https://[::ffff:10.0.0.1]/x', 'http://93.184.216.34/x', 'ftp://127.0.0.1/x', 'not a url']) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(authorA.apiKey), payload: { url, events: ['era.closed'] } });
      const problem = expectProblem(res, 400);
      expect(problem.detail, url).toMatch(/URL/);
    }
    const unknownType = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(authorA.apiKey), payload: { url: receiver.url('/x'), events: ['era.exploded'] } });
    expectProblem(unknownType, 400);
    const list = await t.app.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(authorA.apiKey) });
    expect(list.json().webhooks).toHaveLength(1);
  });

  it('needs a key with the all scope', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(authorA.apiKey), payload: { scopes: ['read'] } });
    expect(key.statusCode, key.body).toBe(201);
    const res = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(key.json().apiKey), payload: { url: receiver.url('/x'), events: ['era.closed'] } });
    expectProblem(res, 403);
  });
});

describe('a round, delivered by two replicas', () => {
  it('delivers every event type, signed, each 2xx-acknowledged delivery once, each author only its own models', async () => {
    const era = 1;
    await createEra(t.app, { number: era }, operatorKey);
    await putUniverse(t.app, era, ids, operatorKey);
    models.a = (await createModel(t.app, authorA.apiKey, 'hook_a', '100')).id;
    models.a2 = (await createModel(t.app, authorA.apiKey, 'hook_a2', '50')).id;
    models.b = (await createModel(t.app, authorB.apiKey, 'hook_b', '80')).id;
    for (const [key, model] of [[authorA.apiKey, models.a], [authorA.apiKey, models.a2], [authorB.apiKey, models.b]] as const) {
      const res = await submitCsv(replica.app, key, model, era, predictionsCsv(ids, values()));
      expect(res.statusCode, res.body).toBe(201);
    }
    // Policies: one at once, one scheduled for a later era.
    await createEra(t.app, { number: era + 1, opensAt: new Date(Date.now() + 3_600_000).toISOString(), closesAt: new Date(Date.now() + 7_200_000).toISOString() }, operatorKey);
    const checker = (await createAccount(t.app, 'admin')).apiKey;
    for (const [name, fromEra] of [['now-policy', undefined], ['later-policy', era + 1]] as const) {
      const policy = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: { name, rules: [{ id: 'none', match: { field: 'id', op: 'in', value: ['nobody'] }, action: { type: 'observe' } }] } });
      expect(policy.statusCode, policy.body).toBe(201);
      const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${policy.json().id}/activate`, headers: bearer(checker), payload: { reason: 'test', ...(fromEra ? { fromEra } : {}) } });
      expect(activated.statusCode, activated.body).toBe(200);
    }
    const closed = await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/close`, headers: bearer(operatorKey) });
    expect(closed.statusCode, closed.body).toBe(200);
    // Lowered after the close: the release waits for the era, and leaves at its resolution.
    const lowered = await t.app.inject({ method: 'PUT', url: `/v1/models/${models.a2}/stake`, headers: bearer(authorA.apiKey), payload: { amount: '20' } });
    expect(lowered.statusCode, lowered.body).toBe(200);
    const target = predictionsCsv(ids, ids.map((_, i) => [0, 0.25, 0.5, 0.75, 1][i % 5]), 'id,target');
    const uploaded = await replica.app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/target`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: target });
    expect(uploaded.statusCode, uploaded.body).toBe(200);
    const resolved = await t.app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(operatorKey) });
    expect(resolved.statusCode, resolved.body).toBe(200);

    const expectTypes = (path: string, types: string[]) =>
      eventually(() => {
        const seen = new Set(bodies(path).map((b) => b.type));
        return types.every((type) => seen.has(type)) ? true : undefined;
      }, 30_000, `${types.join(', ')} at ${path}`);
    await expectTypes('/a', ALL_TYPES);
    await expectTypes('/b', ALL_TYPES.filter((type) => type !== 'stake.released'));

    // Each author's model events are about its own models only, one settlement per model.
    const modelIdsAt = (path: string) => new Set(bodies(path).filter((b) => 'modelId' in b.data).map((b) => b.data.modelId));
    expect(modelIdsAt('/a')).toEqual(new Set([models.a, models.a2]));
    expect(modelIdsAt('/b')).toEqual(new Set([models.b]));
    expect(bodies('/a').filter((b) => b.type === 'model.settled').map((b) => b.data.modelId).sort()).toEqual([models.a, models.a2].sort());
    const released = bodies('/a').find((b) => b.type === 'stake.released')!;
    expect(released.data).toEqual({ modelId: models.a2, amount: expect.stringMatching(/^30(\.0+)?$/) });
    const resolvedEvent = bodies('/b').find((b) => b.type === 'era.resolved')!;
    expect(resolvedEvent.data).toMatchObject({ era, totalPayout: resolved.json().totalPayout, chainDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const closedEvent = bodies('/b').find((b) => b.type === 'era.closed')!;
    expect(closedEvent.data).toMatchObject({ era, run: { id: closed.json().run.id, models: 3, totalStake: expect.any(String) } });

    // Signatures verify with each endpoint's secret, and not with another's.
    for (const path of ['a', 'b']) {
      for (const { received } of bodies(`/${path}`)) {
        expect(verifySignature(hooks[path].secret, received.headers, received.body)).toBe(true);
        expect(verifySignature(hooks[path === 'a' ? 'b' : 'a'].secret, received.headers, received.body)).toBe(false);
        expect(Math.abs(Number(received.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
      }
    }

    // The 500 came back with the same webhook-id and was then acknowledged.
    const [retriedId] = [...failedOnce];
    const attemptsOfRetried = receiver.received.filter((r) => r.headers['webhook-id'] === retriedId).map((r) => r.status);
    expect(attemptsOfRetried).toEqual([500, 200]);

    // No delivery acknowledged with a 2xx arrived again.
    const acknowledged = receiver.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => String(r.headers['webhook-id']));
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
  });

  it('logs every attempt; the log is the owner\'s (404 to others); a 410 disables the endpoint', async () => {
    const log = await eventually(async () => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hooks.a.id}/deliveries`, headers: bearer(authorA.apiKey) });
      const deliveries = res.json().deliveries as { id: string; status: string; type: string; attempts: number; lastStatusCode: number; log: { statusCode: number }[] }[];
      return deliveries.every((d) => d.status === 'delivered') ? deliveries : undefined;
    });
    const closedDelivery = log.find((d) => d.type === 'era.closed')!;
    expect(closedDelivery).toMatchObject({ attempts: 2, lastStatusCode: 200 });
    expect(closedDelivery.log.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(log.filter((d) => d.type !== 'era.closed').every((d) => d.attempts === 1 && d.log.length === 1)).toBe(true);
    expect(new Set(log.map((d) => d.type))).toEqual(new Set(ALL_TYPES));

    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hooks.a.id}/deliveries`, headers: bearer(authorB.apiKey) }), 404);
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${hooks.a.id}`, headers: bearer(authorB.apiKey) }), 404);
    expectProblem(await t.app.inject({ method: 'POST', url: `/v1/webhooks/${hooks.a.id}/deliveries/${closedDelivery.id}/retry`, headers: bearer(authorB.apiKey) }), 404);

    const gone = await eventually(async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(authorB.apiKey) });
      return (res.json().webhooks as { id: string; disabled: boolean }[]).find((w) => w.id === hooks.gone.id && w.disabled);
    });
    expect(gone).toMatchObject({ disabled: true, disabledReason: expect.stringContaining('410') });
    const goneLog = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hooks.gone.id}/deliveries`, headers: bearer(authorB.apiKey) });
    const goneDeliveries = goneLog.json().deliveries as { status: string; attempts: number }[];
    // One attempt got the 410; nothing was attempted after it.
    expect(goneDeliveries.reduce((n, d) => n + d.attempts, 0)).toBe(1);
    expect(goneDeliveries.every((d) => d.status === 'failed')).toBe(true);
    expect(receiver.received.filter((r) => r.path === '/gone')).toHaveLength(1);
  });

  it('delivers again on request, with the same webhook-id', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hooks.b.id}/deliveries`, headers: bearer(authorB.apiKey) });
    const opened = (res.json().deliveries as { id: string; type: string }[]).find((d) => d.type === 'era.opened')!;
    const before = receiver.received.filter((r) => r.headers['webhook-id'] === opened.id).length;
    const retry = await t.app.inject({ method: 'POST', url: `/v1/webhooks/${hooks.b.id}/deliveries/${opened.id}/retry`, headers: bearer(authorB.apiKey) });
    expect(retry.statusCode, retry.body).toBe(202);
    await eventually(() => (receiver.received.filter((r) => r.headers['webhook-id'] === opened.id).length === before + 1 ? true : undefined));
  });

  it('removes a webhook: nothing more is delivered to it', async () => {
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${hooks.b.id}`, headers: bearer(authorB.apiKey) });
    expect(removed.statusCode).toBe(204);
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/webhooks/${hooks.b.id}/deliveries`, headers: bearer(authorB.apiKey) }), 404);
  });
});
