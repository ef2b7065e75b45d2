import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMoney } from '../../src/services/verify.js';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';
import { putStake, units } from '../support/stakes.js';

/*
 * Wallets through the API (docs/stakes.md, "Wallets"), under the default STAKE_FUNDING=wallet: staff
 * credits, stakes paid from the wallet, releases back into it when their eras resolve, withdrawals,
 * what the database refuses, and conservation.
 */

interface WalletBody {
  balance: string;
  held: string;
  available: string;
  entries: { at: string; kind: string; delta: string; balance: string; modelId: string | null; withdrawalId: string | null; reference: string | null }[];
}

let t: TestApp;
let operator: { id: string; apiKey: string };
let admin: { id: string; apiKey: string };
let author: { id: string; apiKey: string };
const ids = liveIds(20, 'wl');
const falling = predictionsCsv(ids, ids.map((_, i) => (i + 1) / 21));
const targetCsv = `id,target\n${ids.map((id, i) => `${id},${[1, 0.75, 0.5, 0.25, 0][Math.floor((i * 5) / ids.length)]}`).join('\n')}\n`;

const post = (url: string, key: string, payload?: object) => t.app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });

async function walletOf(key: string, accountId?: string): Promise<WalletBody> {
  const res = await t.app.inject({ method: 'GET', url: accountId ? `/v1/accounts/${accountId}/wallet` : '/v1/me/wallet', headers: bearer(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function credit(accountId: string, amount: string, reference = 'bank transfer') {
  const res = await post(`/v1/accounts/${accountId}/wallet/credits`, operator.apiKey, { amount, reference });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<WalletBody>();
}

async function expectConserved() {
  const money = await verifyMoney(t.database.db);
  expect(money, JSON.stringify(money)).toMatchObject({ imbalance: '0', conserved: true });
  return money;
}

beforeAll(async () => {
  t = await createTestApp({ STAKE_FUNDING: 'wallet' });
  operator = await createAccount(t.app, 'operator');
  admin = await createAccount(t.app, 'admin');
  author = await createAccount(t.app, 'author');
});
afterAll(async () => t.close());

describe('wallets', () => {
  it('a stake needs money: 409 insufficient funds naming what is available, nothing changed; a credit pays for it', async () => {
    const model = await createModel(t.app, author.apiKey, 'funded');
    const refused = await t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(author.apiKey), payload: { amount: '999999' } });
    const problem = expectProblem(refused, 409) as ReturnType<typeof expectProblem> & { available: string };
    expect(problem.title).toBe('Insufficient funds');
    expect(problem.detail).toBe('wallet holds 0 available; ask an operator to credit it or lower the stake');
    expect(problem.available).toBe('0');
    expect((await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/stake`, headers: bearer(author.apiKey) })).json()).toMatchObject({ amount: '0', history: [] });

    const credited = await credit(author.id, '40.5', 'wire 2026-001');
    expect(credited).toMatchObject({ balance: '40.5', held: '0', available: '40.5' });
    expect(credited.entries).toEqual([{ at: expect.any(String), kind: 'credit', delta: '40.5', balance: '40.5', modelId: null, withdrawalId: null, reference: 'wire 2026-001' }]);

    const short = expectProblem(await t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(author.apiKey), payload: { amount: '40.6' } }), 409);
    expect(short.detail).toBe('wallet holds 40.5 available; ask an operator to credit it or lower the stake');

    await putStake(t.app, author.apiKey, model.id, '40');
    const after = await walletOf(author.apiKey);
    expect(after).toMatchObject({ balance: '0.5', held: '0', available: '0.5' });
    expect(after.entries.at(-1)).toMatchObject({ kind: 'stake', delta: '-40', balance: '0.5', modelId: model.id });
    // Only the raise is drawn.
    await credit(author.id, '10');
    await putStake(t.app, author.apiKey, model.id, '45');
    expect(await walletOf(author.apiKey)).toMatchObject({ balance: '5.5', available: '5.5' });
    // A lowering with no era at risk returns at once.
    await putStake(t.app, author.apiKey, model.id, '30');
    const back = await walletOf(author.apiKey);
    expect(back).toMatchObject({ balance: '20.5' });
    expect(back.entries.at(-1)).toMatchObject({ kind: 'unstake', delta: '15', modelId: model.id });
    await expectConserved();
  });

  it('credits: staff only, audited, positive exact amounts, a reference; an unknown account is 404', async () => {
    expectProblem(await post(`/v1/accounts/${author.id}/wallet/credits`, author.apiKey, { amount: '10', reference: 'self' }), 403);
    for (const payload of [{ amount: '0', reference: 'x' }, { amount: '-1', reference: 'x' }, { amount: '1e3', reference: 'x' }, { amount: '10', reference: '  ' }, { amount: '10' }]) {
      const problem = expectProblem(await post(`/v1/accounts/${author.id}/wallet/credits`, operator.apiKey, payload), 400);
      expect(problem.detail.length).toBeGreaterThan(0);
    }
    expectProblem(await post(`/v1/accounts/00000000-0000-4000-8000-000000000000/wallet/credits`, operator.apiKey, { amount: '1', reference: 'x' }), 404);
    const before = await walletOf(admin.apiKey, author.id);
    await post(`/v1/accounts/${author.id}/wallet/credits`, admin.apiKey, { amount: 2.25, reference: 'card' });
    expect(units((await walletOf(admin.apiKey, author.id)).balance) - units(before.balance)).toBe(units('2.25'));
    const audit = await t.app.inject({ method: 'GET', url: `/v1/audit-log?subject=${author.id}`, headers: bearer(admin.apiKey) });
    expect(audit.json().entries.map((e: { action: string; details: unknown }) => [e.action, e.details])).toContainEqual(['wallet.credit', { amount: '2.25', reference: 'card' }]);
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/accounts/${operator.id}/wallet`, headers: bearer(author.apiKey) }), 403);
  });

  it('withdrawals hold their amount until staff complete or reject them; above available is 409; an author cannot decide', async () => {
    const other = await createAccount(t.app, 'author');
    await credit(other.id, '100');
    const over = expectProblem(await post('/v1/me/wallet/withdrawals', other.apiKey, { amount: '100.01' }), 409);
    expect(over.detail).toBe('wallet holds 100 available; ask an operator to credit it or withdraw less');

    const first = await post('/v1/me/wallet/withdrawals', other.apiKey, { amount: '60' });
    expect(first.statusCode, first.body).toBe(201);
    const w1 = first.json<{ id: string; status: string; amount: string }>();
    expect(w1).toMatchObject({ status: 'pending', amount: '60' });
    expect(await walletOf(other.apiKey)).toMatchObject({ balance: '100', held: '60', available: '40' });
    // Held money cannot be staked nor withdrawn twice.
    const model = await createModel(t.app, other.apiKey, 'held_back');
    expectProblem(await t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(other.apiKey), payload: { amount: '41' } }), 409);
    expectProblem(await post('/v1/me/wallet/withdrawals', other.apiKey, { amount: '41' }), 409);
    const w2 = (await post('/v1/me/wallet/withdrawals', other.apiKey, { amount: '30' })).json<{ id: string }>();

    const pending = await t.app.inject({ method: 'GET', url: '/v1/withdrawals?status=pending', headers: bearer(operator.apiKey) });
    expect(pending.json().withdrawals.map((w: { id: string }) => w.id)).toEqual(expect.arrayContaining([w1.id, w2.id]));
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/withdrawals?status=pending', headers: bearer(other.apiKey) }), 403);
    expectProblem(await post(`/v1/withdrawals/${w1.id}/complete`, other.apiKey, { reference: 'me' }), 403);
    expectProblem(await post(`/v1/withdrawals/${w1.id}/reject`, other.apiKey, { reason: 'me' }), 403);

    const completed = await post(`/v1/withdrawals/${w1.id}/complete`, operator.apiKey, { reference: 'wire out 7' });
    expect(completed.statusCode, completed.body).toBe(200);
    expect(completed.json()).toMatchObject({ status: 'completed', reference: 'wire out 7', decidedBy: operator.id });
    expectProblem(await post(`/v1/withdrawals/${w1.id}/reject`, admin.apiKey, { reason: 'late' }), 409);
    const rejected = await post(`/v1/withdrawals/${w2.id}/reject`, admin.apiKey, { reason: 'account under review' });
    expect(rejected.json()).toMatchObject({ status: 'rejected', reason: 'account under review' });
    expectProblem(await post(`/v1/withdrawals/00000000-0000-4000-8000-000000000000/complete`, operator.apiKey, { reference: 'x' }), 404);

    const wallet = await walletOf(other.apiKey);
    expect(wallet).toMatchObject({ balance: '40', held: '0', available: '40' });
    expect(wallet.entries.map((e) => [e.kind, e.delta, e.balance, e.withdrawalId])).toEqual([
      ['credit', '100', '100', null],
      ['withdrawal_held', '0', '100', w1.id],
      ['withdrawal_held', '0', '100', w2.id],
      ['withdrawn', '-60', '40', w1.id],
      ['withdrawal_released', '0', '40', w2.id],
    ]);
    const money = await expectConserved();
    expect(units(money.withdrawn)).toBeGreaterThanOrEqual(units('60'));
  });

  it('a release waiting for an era returns to the wallet when that era resolves, less what it burned', async () => {
    const owner = await createAccount(t.app, 'author');
    await credit(owner.id, '100');
    const model = await createModel(t.app, owner.apiKey, 'waits');
    await putStake(t.app, owner.apiKey, model.id, '100');
    await createEra(t.app, { number: 1, minCoverage: 1 }, operator.apiKey);
    await putUniverse(t.app, 1, ids, operator.apiKey);
    expect((await submitCsv(t.app, owner.apiKey, model.id, 1, falling)).statusCode).toBe(201);
    await closeEra(t.app, 1, operator.apiKey);
    await putStake(t.app, owner.apiKey, model.id, '0');
    expect(await walletOf(owner.apiKey)).toMatchObject({ balance: '0' });
    await expectConserved();

    expect((await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { ...bearer(operator.apiKey), 'content-type': 'text/csv' }, payload: targetCsv })).statusCode).toBe(200);
    const resolved = await post('/v1/eras/1/resolve', operator.apiKey);
    expect(resolved.statusCode, resolved.body).toBe(200);
    // Burned 5 (the clip) from the pending release; the other 95 comes back.
    const wallet = await walletOf(owner.apiKey);
    expect(wallet).toMatchObject({ balance: '95', available: '95' });
    expect(wallet.entries.at(-1)).toMatchObject({ kind: 'unstake', delta: '95', modelId: model.id });
    const money = await expectConserved();
    expect(units(money.burns)).toBeGreaterThanOrEqual(units('5'));
  });

  it('the database refuses a negative wallet and any change to an entry', async () => {
    const client = await t.database.pool.connect();
    try {
      await expect(
        client.query(`insert into wallet_entries (account_id, seq, kind, delta, balance, held, reference) values ($1, 1, 'credit', -5, -5, 0, 'x')`, [operator.id]),
      ).rejects.toThrow(/check/);
      await expect(client.query(`update wallet_entries set delta = 0 where account_id = $1`, [author.id])).rejects.toThrow();
      await expect(client.query(`delete from wallet_entries where account_id = $1`, [author.id])).rejects.toThrow();
    } finally {
      client.release();
    }
  });
});

describe('STAKE_FUNDING=open', () => {
  it('a stake needs no funds; what the wallet lacks is credited, so money is still conserved', async () => {
    const open = await createTestApp({ STAKE_FUNDING: 'open' });
    try {
      const owner = await createAccount(open.app, 'author');
      const model = await createModel(open.app, owner.apiKey, 'play_money');
      await putStake(open.app, owner.apiKey, model.id, '999999');
      const wallet = (await open.app.inject({ method: 'GET', url: '/v1/me/wallet', headers: bearer(owner.apiKey) })).json<WalletBody>();
      expect(wallet.balance).toBe('0');
      expect(wallet.entries.map((e) => [e.kind, e.delta, e.modelId])).toEqual([
        ['credit', '999999', model.id],
        ['stake', '-999999', model.id],
      ]);
      await putStake(open.app, owner.apiKey, model.id, '1');
      await putStake(open.app, owner.apiKey, model.id, '5');
      // The release came back at once (no era at risk) and pays the next raise before any credit.
      const after = (await open.app.inject({ method: 'GET', url: '/v1/me/wallet', headers: bearer(owner.apiKey) })).json<WalletBody>();
      expect(after.entries.slice(2).map((e) => [e.kind, e.delta])).toEqual([
        ['unstake', '999998'],
        ['stake', '-4'],
      ]);
      expect(await verifyMoney(open.database.db)).toMatchObject({ credits: '999999', models: '5', wallets: '999994', conserved: true });
    } finally {
      await open.close();
    }
  });
});
