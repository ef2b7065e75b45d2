import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../src/http/plugins/auth.js';
import type { Role } from '../../src/services/accounts.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';

/*
 * The authorisation matrix: every route the app registers × every caller (no key, admin,
 * operator, the author who owns the resource, an author who does not) → the status class
 * the OpenAPI document promises. The route list comes from app.routeTable, so a route added without a
 * rule here fails the first test, and a route whose declared access drifts fails the second.
 */

type Caller = 'none' | 'admin' | 'operator' | 'author (own)' | "author (other's)";

interface Fixture {
  era: number;
  openEra: number;
  ownModel: string;
  otherModel: string;
  accountId: string;
  keyId: string;
  /** an admin made over HTTP by an admin other than the matrix's, so the matrix's admin may confirm it */
  pendingAdminId: string;
  /** an account the matrix's admin may disable */
  disposableAccountId: string;
  policyId: string;
  /** a draft written by the matrix's admin, which it may withdraw */
  ownPolicyId: string;
  submission: string;
  withdrawalId: string;
}

interface Rule {
  /** who the OpenAPI document lets in */
  access: Access;
  /** the route acts on a model: its author may, another author may not */
  owned?: boolean;
  request: (f: Fixture, model: string) => { url: string; payload?: string | object; headers?: Record<string, string> };
}

const STAFF: Role[] = ['admin', 'operator'];
const ANY: Role[] = ['admin', 'operator', 'author'];

const RULES: Record<string, Rule> = {
  'GET /healthz': { access: 'public', request: () => ({ url: '/healthz' }) },
  'GET /readyz': { access: 'public', request: () => ({ url: '/readyz' }) },
  'GET /metrics': { access: 'public', request: () => ({ url: '/metrics' }) },
  'GET /reports': { access: 'public', request: () => ({ url: '/reports' }) },
  'GET /reports/reports.js': { access: 'public', request: () => ({ url: '/reports/reports.js' }) },
  'GET /reports/reports.css': { access: 'public', request: () => ({ url: '/reports/reports.css' }) },
  'GET /console': { access: 'public', request: () => ({ url: '/console' }) },
  'GET /console/console.css': { access: 'public', request: () => ({ url: '/console/console.css' }) },
  'GET /console/console.js': { access: 'public', request: () => ({ url: '/console/console.js' }) },
  'GET /console/ui.js': { access: 'public', request: () => ({ url: '/console/ui.js' }) },
  'GET /console/admin.js': { access: 'public', request: () => ({ url: '/console/admin.js' }) },
  'GET /console/operator.js': { access: 'public', request: () => ({ url: '/console/operator.js' }) },
  'GET /console/author.js': { access: 'public', request: () => ({ url: '/console/author.js' }) },
  'POST /v1/accounts': { access: ['admin'], request: () => ({ url: '/v1/accounts', payload: { name: 'matrix', role: 'author' } }) },
  'POST /v1/accounts/:id/keys': { access: ['admin'], request: (f) => ({ url: `/v1/accounts/${f.accountId}/keys` }) },
  'GET /v1/accounts': { access: ['admin'], request: () => ({ url: '/v1/accounts?role=author&q=a' }) },
  'POST /v1/accounts/:id/confirm': { access: ['admin'], request: (f) => ({ url: `/v1/accounts/${f.pendingAdminId}/confirm` }) },
  'POST /v1/accounts/:id/disable': { access: ['admin'], request: (f) => ({ url: `/v1/accounts/${f.disposableAccountId}/disable`, payload: { reason: 'matrix' } }) },
  'DELETE /v1/keys/:keyId': { access: ['admin'], request: (f) => ({ url: `/v1/keys/${f.keyId}` }) },
  'GET /v1/me': { access: ANY, request: () => ({ url: '/v1/me' }) },
  'POST /v1/me/keys': { access: ANY, request: () => ({ url: '/v1/me/keys', payload: { scopes: ['read'] } }) },
  'GET /v1/me/keys': { access: ANY, request: () => ({ url: '/v1/me/keys' }) },
  // Another account's key: every caller passes the gate and is told 404.
  'DELETE /v1/me/keys/:keyId': { access: ANY, request: (f) => ({ url: `/v1/me/keys/${f.keyId}` }) },
  'POST /v1/eras': {
    access: STAFF,
    request: () => ({ url: '/v1/eras', payload: { number: 100 + Math.floor(Math.random() * 1e6), closesAt: new Date(Date.now() + 3_600_000).toISOString() } }),
  },
  'GET /v1/eras': { access: ANY, request: () => ({ url: '/v1/eras' }) },
  'GET /v1/eras/:number': { access: ANY, request: (f) => ({ url: `/v1/eras/${f.era}` }) },
  'PUT /v1/eras/:number/universe': {
    access: STAFF,
    // The closed era's universe is fixed: an allowed caller gets 409, never a change.
    request: (f) => ({ url: `/v1/eras/${f.era}/universe`, payload: 'id,sector\nx1,10\n', headers: { 'content-type': 'text/csv' } }),
  },
  'GET /v1/eras/:number/live-ids': { access: ANY, request: (f) => ({ url: `/v1/eras/${f.era}/live-ids` }) },
  'POST /v1/models': { access: ['author'], request: () => ({ url: '/v1/models', payload: { name: `matrix_${Math.random().toString(36).slice(2, 10)}` } }) },
  'GET /v1/models': { access: ANY, request: () => ({ url: '/v1/models' }) },
  'PUT /v1/models/:modelId/stake': { access: ['author'], owned: true, request: (_f, model) => ({ url: `/v1/models/${model}/stake`, payload: { amount: '10' } }) },
  'GET /v1/models/:modelId/stake': { access: ANY, owned: true, request: (_f, model) => ({ url: `/v1/models/${model}/stake` }) },
  'POST /v1/models/:modelId/submissions': {
    access: ['author'],
    owned: true,
    request: (f, model) => ({ url: `/v1/models/${model}/submissions?era=${f.openEra}`, payload: f.submission, headers: { 'content-type': 'text/csv' } }),
  },
  'GET /v1/models/:modelId/submissions': { access: ANY, owned: true, request: (_f, model) => ({ url: `/v1/models/${model}/submissions` }) },
  'POST /v1/eras/:number/close': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/close` }) },
  'GET /v1/eras/:number/meta-model': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/meta-model` }) },
  'POST /v1/eras/:number/meta-model/compute': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/meta-model/compute` }) },
  'GET /v1/eras/:number/meta-model/runs': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/meta-model/runs` }) },
  'PUT /v1/eras/:number/targets/:target': {
    access: STAFF,
    request: (f) => ({ url: `/v1/eras/${f.era}/targets/target`, payload: targetCsv(), headers: { 'content-type': 'text/csv' } }),
  },
  'PUT /v1/eras/:number/targets': {
    access: STAFF,
    request: (f) => ({ url: `/v1/eras/${f.era}/targets`, payload: targetCsv().replace('id,target', 'id,ender_20'), headers: { 'content-type': 'text/csv' } }),
  },
  'GET /v1/eras/:number/scores': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/scores` }) },
  'GET /v1/models/:modelId/performance': { access: ANY, owned: true, request: (_f, model) => ({ url: `/v1/models/${model}/performance` }) },
  'GET /v1/leaderboard': { access: ANY, request: () => ({ url: '/v1/leaderboard?window=5' }) },
  'GET /v1/models/:modelId/scores': { access: ANY, owned: true, request: (_f, model) => ({ url: `/v1/models/${model}/scores` }) },
  'POST /v1/eras/:number/resolve': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/resolve` }) },
  'GET /v1/eras/:number/bundle': { access: ANY, request: (f) => ({ url: `/v1/eras/${f.era}/bundle` }) },
  'POST /v1/policies': {
    access: ['admin'],
    request: () => ({ url: '/v1/policies', payload: { name: 'matrix', rules: [{ id: 'r', match: { field: 'id', op: 'eq', value: 'x' }, action: { type: 'observe' } }] } }),
  },
  'GET /v1/policies': { access: ['admin'], request: () => ({ url: '/v1/policies' }) },
  'GET /v1/policies/active': { access: 'public', request: () => ({ url: '/v1/policies/active' }) },
  'GET /v1/policies/:id': { access: ['admin'], request: (f) => ({ url: `/v1/policies/${f.policyId}` }) },
  'GET /v1/policies/changelog': { access: 'public', request: () => ({ url: '/v1/policies/changelog' }) },
  'GET /v1/policies/:id/diff': { access: STAFF, request: (f) => ({ url: `/v1/policies/${f.policyId}/diff?against=${f.policyId}` }) },
  'POST /v1/policies/:id/activate': { access: ['admin'], request: (f) => ({ url: `/v1/policies/${f.policyId}/activate`, payload: { reason: 'matrix' } }) },
  // The author withdraws its draft once (204), then finds it gone (404); other roles are refused by role.
  'DELETE /v1/policies/:id': { access: ['admin'], request: (f) => ({ url: `/v1/policies/${f.ownPolicyId}` }) },
  'POST /v1/policies/:id/reject': { access: ['admin'], request: (f) => ({ url: `/v1/policies/${f.policyId}/reject`, payload: { reason: 'matrix' } }) },
  'POST /v1/policies/:id/replay': { access: STAFF, request: (f) => ({ url: `/v1/policies/${f.policyId}/replay`, payload: { lastEras: 3 } }) },
  'GET /v1/eras/:number/submissions/summary': { access: STAFF, request: (f) => ({ url: `/v1/eras/${f.era}/submissions/summary` }) },
  'POST /v1/policies/:id/preview': { access: STAFF, request: (f) => ({ url: `/v1/policies/${f.policyId}/preview`, payload: { eras: [f.era] } }) },
  'GET /v1/audit-log': { access: ['admin'], request: () => ({ url: '/v1/audit-log' }) },
  'GET /v1/me/wallet': { access: ANY, request: () => ({ url: '/v1/me/wallet' }) },
  'GET /v1/accounts/:id/wallet': { access: STAFF, request: (f) => ({ url: `/v1/accounts/${f.accountId}/wallet` }) },
  'POST /v1/accounts/:id/wallet/credits': { access: STAFF, request: (f) => ({ url: `/v1/accounts/${f.accountId}/wallet/credits`, payload: { amount: '1', reference: 'matrix' } }) },
  'POST /v1/me/wallet/withdrawals': { access: ['author'], request: () => ({ url: '/v1/me/wallet/withdrawals', payload: { amount: '0.01' } }) },
  'GET /v1/withdrawals': { access: STAFF, request: () => ({ url: '/v1/withdrawals?status=pending' }) },
  'POST /v1/withdrawals/:id/complete': { access: STAFF, request: (f) => ({ url: `/v1/withdrawals/${f.withdrawalId}/complete`, payload: { reference: 'matrix' } }) },
  'POST /v1/withdrawals/:id/reject': { access: STAFF, request: (f) => ({ url: `/v1/withdrawals/${f.withdrawalId}/reject`, payload: { reason: 'matrix' } }) },
  'GET /v1/reports/eras/:number': { access: 'public', request: (f) => ({ url: `/v1/reports/eras/${f.era}` }) },
  'GET /v1/reports/summary': { access: 'public', request: () => ({ url: '/v1/reports/summary' }) },
  'GET /v1/reports/heads': { access: 'public', request: () => ({ url: '/v1/reports/heads' }) },
  'GET /v1/reports/heads/:chain/:position': { access: 'public', request: () => ({ url: '/v1/reports/heads/audit/1' }) },
  // A private address is refused (400) once through the gate; no webhook is stored, no request sent.
  'POST /v1/webhooks': { access: ANY, request: () => ({ url: '/v1/webhooks', payload: { url: 'https://10.0.0.1/hook', events: ['era.closed'] } }) },
  'GET /v1/webhooks': { access: ANY, request: () => ({ url: '/v1/webhooks' }) },
  // Another account's (here: no) webhook: every caller passes the gate and is told 404.
  'DELETE /v1/webhooks/:id': { access: ANY, request: () => ({ url: `/v1/webhooks/${NO_WEBHOOK}` }) },
  'GET /v1/webhooks/:id/deliveries': { access: ANY, request: () => ({ url: `/v1/webhooks/${NO_WEBHOOK}/deliveries` }) },
  'POST /v1/webhooks/:id/deliveries/:deliveryId/retry': { access: ANY, request: () => ({ url: `/v1/webhooks/${NO_WEBHOOK}/deliveries/${NO_WEBHOOK}/retry` }) },
  // A malformed Last-Event-ID is a 400 past the gate, so the matrix never holds a stream open.
  'GET /v1/events': { access: ANY, request: () => ({ url: '/v1/events', headers: { 'last-event-id': 'not-an-id' } }) },
};

const NO_WEBHOOK = '00000000-0000-4000-8000-000000000000';
const IDS = liveIds(40, 'mx');
const targetCsv = () => `id,target\n${IDS.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][i % 5]}`).join('\n')}\n`;
const random = rng(7);
const predictions = () => predictionsCsv(IDS, IDS.map(() => Math.round(random() * 1e6) / 1e6));

/** HEAD routes are Fastify's automatic twins of GET routes and follow the GET rule. */
const ruleKey = (method: string, url: string) => `${method === 'HEAD' ? 'GET' : method} ${url}`;

/** What a caller must get: 401 (no key on a protected route), 403, or through the gate (never 5xx). */
function expected(rule: Rule, caller: Caller): 'allowed' | 401 | 403 {
  if (rule.access === 'public') return 'allowed';
  if (caller === 'none') return 401;
  const role: Role = caller.startsWith('author') ? 'author' : (caller as Role);
  if (!rule.access.includes(role)) return 403;
  if (rule.owned && caller === "author (other's)") return 403;
  return 'allowed';
}

let t: TestApp;
let fixture: Fixture;
const keys: Record<Exclude<Caller, 'none'>, string> = {} as never;

beforeAll(async () => {
  t = await createTestApp();
  const operator = await createAccount(t.app, 'operator');
  const author = await createAccount(t.app, 'author');
  const otherAuthor = await createAccount(t.app, 'author');
  const secondAdmin = await createAccount(t.app, 'admin');
  const victim = await createAccount(t.app, 'author');
  const disposable = await createAccount(t.app, 'author');
  const pendingAdmin = await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(secondAdmin.apiKey), payload: { name: 'matrix-pending', role: 'admin' } });
  if (pendingAdmin.statusCode !== 201) throw new Error(`pending admin: ${pendingAdmin.statusCode} ${pendingAdmin.body}`);
  Object.assign(keys, { admin: ADMIN_KEY, operator: operator.apiKey, 'author (own)': author.apiKey, "author (other's)": otherAuthor.apiKey });

  const hour = 3_600_000;
  await createEra(t.app, { number: 1, opensAt: new Date(Date.now() - hour).toISOString(), closesAt: new Date(Date.now() + hour).toISOString() });
  await putUniverse(t.app, 1, IDS);
  await createEra(t.app, { number: 2, opensAt: new Date(Date.now() - hour).toISOString(), closesAt: new Date(Date.now() + hour).toISOString() });
  await putUniverse(t.app, 2, IDS);
  const own = await createModel(t.app, author.apiKey, 'matrix_own', '100');
  const other = await createModel(t.app, otherAuthor.apiKey, 'matrix_other', '50');
  for (const [key, model] of [[author.apiKey, own.id], [otherAuthor.apiKey, other.id]] as const) {
    const res = await submitCsv(t.app, key, model, 2, predictions());
    if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
  }
  await closeEra(t.app, 2);
  // Authored by another admin, so the four-eyes rule does not stand between the matrix's admin and activation.
  const policy = await t.app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(secondAdmin.apiKey),
    payload: { name: 'matrix_policy', rules: [{ id: 'r', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } }] },
  });
  if (policy.statusCode !== 201) throw new Error(`policy: ${policy.statusCode} ${policy.body}`);

  const ownPolicy = await t.app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(ADMIN_KEY),
    payload: { name: 'matrix_own_policy', rules: [{ id: 'r', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } }] },
  });
  if (ownPolicy.statusCode !== 201) throw new Error(`own policy: ${ownPolicy.statusCode} ${ownPolicy.body}`);

  for (const account of [author, otherAuthor]) {
    const credited = await t.app.inject({ method: 'POST', url: `/v1/accounts/${account.id}/wallet/credits`, headers: bearer(ADMIN_KEY), payload: { amount: '10', reference: 'matrix' } });
    if (credited.statusCode !== 201) throw new Error(`credit: ${credited.statusCode} ${credited.body}`);
  }
  const withdrawal = await t.app.inject({ method: 'POST', url: '/v1/me/wallet/withdrawals', headers: bearer(otherAuthor.apiKey), payload: { amount: '1' } });
  if (withdrawal.statusCode !== 201) throw new Error(`withdrawal: ${withdrawal.statusCode} ${withdrawal.body}`);

  fixture = {
    withdrawalId: withdrawal.json().id,
    era: 2,
    openEra: 1,
    ownModel: own.id,
    otherModel: other.id,
    accountId: otherAuthor.id,
    keyId: victim.keyId,
    pendingAdminId: pendingAdmin.json().id,
    disposableAccountId: disposable.id,
    policyId: policy.json().id,
    ownPolicyId: ownPolicy.json().id,
    submission: predictions(),
  };
});
afterAll(async () => t.close());

describe('the authorisation matrix', () => {
  it('has a rule for every route the app registers, and every documented route is in the route table', async () => {
    const table = t.app.routeTable;
    expect(table.length).toBeGreaterThan(30);
    const missing = table.filter((r) => !RULES[ruleKey(r.method, r.url)]).map((r) => `${r.method} ${r.url}`);
    expect(missing, 'routes without a rule in tests/api/authz-matrix.test.ts').toEqual([]);
    // Every documented operation is in the table too, so no route escapes the matrix by declaring nothing.
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const recorded = new Set(table.map((r) => `${r.method} ${r.url}`));
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((op) => !recorded.has(op))).toEqual([]);
  });

  it('declares on each route exactly the access the OpenAPI document gives it', () => {
    const drift = t.app.routeTable
      .filter((r) => RULES[ruleKey(r.method, r.url)])
      .filter((r) => JSON.stringify(normalise(r.access)) !== JSON.stringify(normalise(RULES[ruleKey(r.method, r.url)].access)))
      .map((r) => `${r.method} ${r.url}: declares ${JSON.stringify(r.access)}, expected ${JSON.stringify(RULES[ruleKey(r.method, r.url)].access)}`);
    expect(drift).toEqual([]);
  });

  it('every route × every caller gets what its rule says, and never a 5xx', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const route of t.app.routeTable) {
      const rule = RULES[ruleKey(route.method, route.url)];
      if (!rule) continue;
      const callers: Caller[] = rule.owned
        ? ['none', 'admin', 'operator', 'author (own)', "author (other's)"]
        : ['none', 'admin', 'operator', 'author (own)'];
      for (const caller of callers) {
        // The owner's model for the owner and for staff; the other author's model for "other's".
        const model = caller === "author (other's)" ? fixture.otherModel : fixture.ownModel;
        const key = caller === "author (other's)" ? keys['author (own)'] : caller === 'none' ? undefined : keys[caller];
        const { url, payload, headers } = rule.request(fixture, model);
        const res = await t.app.inject({
          method: route.method as 'GET',
          url,
          headers: { ...(key ? bearer(key) : {}), ...headers },
          ...(payload === undefined ? {} : { payload }),
        });
        checked++;
        const want = expected(rule, caller);
        const problem = verdict(res, route.method, want, rule, caller);
        if (problem) failures.push(`${route.method} ${url} as ${caller}: ${problem}`);
      }
    }
    expect(checked).toBeGreaterThan(150);
    expect(failures).toEqual([]);
  });
});

describe('a pending admin', () => {
  it("gets 403 naming the confirmation it awaits on every route, public ones included", async () => {
    // Made by another admin than the matrix's, as the fixture's pending admin (which the matrix confirmed) was.
    const made = await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name: 'matrix-still-pending', role: 'admin' } });
    expect(made.json()).toMatchObject({ status: 'pending' });
    const pendingKey = made.json().apiKey as string;
    const failures: string[] = [];
    for (const route of t.app.routeTable) {
      const rule = RULES[ruleKey(route.method, route.url)];
      if (!rule) continue;
      const { url, payload, headers } = rule.request(fixture, fixture.ownModel);
      const res = await t.app.inject({
        method: route.method as 'GET',
        url,
        headers: { ...bearer(pendingKey), ...headers },
        ...(payload === undefined ? {} : { payload }),
      });
      if (res.statusCode !== 403) failures.push(`${route.method} ${url}: ${res.statusCode}`);
      else if (route.method !== 'HEAD' && !/awaits confirmation by another admin/.test(res.json().detail)) failures.push(`${route.method} ${url}: ${res.body}`);
    }
    expect(failures).toEqual([]);
  });
});

function normalise(access: Access): string | string[] {
  return access === 'public' ? access : [...access].sort();
}

function verdict(res: LightMyRequestResponse, method: string, want: 'allowed' | 401 | 403, rule: Rule, caller: Caller): string | null {
  const status = res.statusCode;
  if (status >= 500) return `got ${status} ${res.body.slice(0, 200)}`;
  if (want === 'allowed') {
    if (status === 401 || status === 403) return `expected to pass the gate, got ${status} ${res.body.slice(0, 200)}`;
    // The owner must really be served, not merely not refused.
    if (rule.owned && caller === 'author (own)' && (status < 200 || status >= 300)) return `owner expected 2xx, got ${status} ${res.body.slice(0, 200)}`;
    return null;
  }
  if (status !== want) return `expected ${want}, got ${status} ${res.body.slice(0, 200)}`;
  if (method !== 'HEAD') {
    if (!String(res.headers['content-type']).startsWith('application/problem+json')) return `expected problem+json, got ${String(res.headers['content-type'])}`;
    const body = res.json<{ status?: number; type?: string; detail?: string }>();
    if (body.status !== want || !body.type || !body.detail) return `malformed problem ${res.body}`;
  }
  return null;
}
