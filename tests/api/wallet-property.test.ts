import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMoney } from '../../src/services/verify.js';
import { createAccount, startReplica, type TestApp, startTwoInstances } from '../support/app.js';
import { liveIds, putUniverse } from '../support/fixtures.js';
import { advanceEra, call, expectLedgerInvariants, marketBodies, nthUnresolved, ok, stakeOf, units, type EraState, type StakeBody } from '../support/stakes.js';

/*
 * Wallets under random sequences over many eras, under STAKE_FUNDING=wallet, each step on one of two
 * app instances (pools of their own): credits, stakes up and down, closes, targets, resolutions that
 * pay and burn, withdrawals requested, completed and rejected, and races (a stake change against a
 * close or resolution, a withdrawal against a stake raise of the same wallet). After every step,
 * through the API and the database: no wallet or model below zero, nothing held beyond the balance,
 * every raise paid by a stake entry of the same size (so no stake above what its owner held), every
 * release back in its wallet exactly when it left its model (and it leaves only once its eras
 * resolved), a refusal only when the wallet was short, and money conserved to the last decimal.
 */

let t: TestApp;
let other: Awaited<ReturnType<typeof startReplica>>;
let operatorKey: string;
let adminKey: string;
const authors: { id: string; apiKey: string }[] = [];
const ids = liveIds(16, 'wp');
const HOUR = 3_600_000;
const MODELS_PER_AUTHOR = 2;

interface WalletBody {
  balance: string;
  held: string;
  available: string;
  entries: { kind: string; delta: string; balance: string; modelId: string | null; withdrawalId: string | null }[];
}

let instances: Awaited<ReturnType<typeof startTwoInstances>>;
beforeAll(async () => {
  instances = await startTwoInstances({ STAKE_FUNDING: 'wallet' }, ['operator', 'admin']);
  ({ t, other, operatorKey, adminKey } = instances);
});
afterAll(async () => instances?.close());

type Step =
  | { op: 'credit'; author: number; amount: string; on: number }
  | { op: 'stake'; model: number; amount: string; on: number }
  | { op: 'withdraw'; author: number; amount: string; on: number }
  | { op: 'decide'; pick: number; complete: boolean; on: number }
  | { op: 'era'; clip: number; submitters: boolean[]; closed: boolean; seed: number; on: number }
  | { op: 'advance'; era: number; seed: number; on: number }
  | { op: 'race'; model: number; amount: string; era: number; seed: number; on: number }
  | { op: 'raceMoney'; model: number; stake: string; withdraw: string; on: number };

const MODELS = 2 * MODELS_PER_AUTHOR;
const decimal = (max: number) =>
  fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max: 6 })).map(([n, places]) => {
    if (places === 0) return String(n);
    const text = String(n).padStart(places + 1, '0');
    return `${text.slice(0, -places)}.${text.slice(-places)}`;
  });
const positive = (max: number) => decimal(max).filter((d) => units(d) > 0n);
const on = fc.integer({ min: 0, max: 1 });
// Lowering to zero often, so releases wait for eras at risk and come back when they resolve.
// Raises of up to 60000 against wallets of about 25000, so some are short.
const stakeAmount = fc.oneof(
  { weight: 2, arbitrary: fc.constant('0') },
  { weight: 2, arbitrary: decimal(40_000) },
  { weight: 2, arbitrary: fc.integer({ min: 1000, max: 60_000 }).map(String) },
);
const pick = fc.nat({ max: 20 });
const seed = fc.nat();
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('credit' as const), author: fc.nat({ max: 1 }), amount: positive(30_000), on }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('stake' as const), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('withdraw' as const), author: fc.nat({ max: 1 }), amount: positive(20_000), on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('decide' as const), pick, complete: fc.boolean(), on }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('era' as const), clip: fc.constantFrom(0.05, 1, 1), submitters: fc.array(fc.constantFrom(true, true, false), { minLength: MODELS, maxLength: MODELS }), closed: fc.boolean(), seed, on }) },
  { weight: 9, arbitrary: fc.record({ op: fc.constant('advance' as const), era: pick, seed, on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('race' as const), model: fc.nat({ max: MODELS - 1 }), amount: stakeAmount, era: pick, seed, on }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('raceMoney' as const), model: fc.nat({ max: MODELS - 1 }), stake: decimal(40_000), withdraw: positive(20_000), on }) },
);

/** 2xx, or 409 insufficient funds: which one it was. */
async function paidOrShort(res: Awaited<ReturnType<typeof call>>): Promise<'paid' | 'short'> {
  if (res.statusCode === 200 || res.statusCode === 201) return 'paid';
  expect(res.statusCode, res.body).toBe(409);
  expect(res.json()).toMatchObject({ title: 'Insufficient funds', available: expect.any(String) });
  return 'short';
}
const { predictionsBody, targetBody } = marketBodies(ids);


let eraCounter = 0;
let runCounter = 0;
const seen = { short: 0, paidRaises: 0 };

const sumOf = (values: string[]) => values.reduce((s, v) => s + units(v), 0n);

describe('wallets under random sequences on two instances', () => {
  it('keep every wallet and stake invariant after every step, and money is conserved to the last decimal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 36 }), async (steps) => {
        const run = ++runCounter;
        const owners: { id: string; apiKey: string }[] = [];
        for (let a = 0; a < 2; a++) owners.push(await createAccount(t.app, 'author', `wallet-prop-${run}-${a}`));
        authors.push(...owners);
        const models: { id: string; owner: number }[] = [];
        for (let k = 0; k < MODELS; k++) {
          const owner = Math.floor(k / MODELS_PER_AUTHOR);
          models.push({ id: (await ok(t.app, 'POST', '/v1/models', owners[owner].apiKey, { name: `wprop_${run}_${k}` })).id, owner });
        }
        const eras: EraState[] = [];
        const instance = (i: number) => (i ? other.app : t.app);
        const walletOf = async (owner: number, app = t.app): Promise<WalletBody> => ok(app, 'GET', '/v1/me/wallet', owners[owner].apiKey);
        const amountOf = async (model: number) => (await stakeOf(t.app, owners[models[model].owner].apiKey, models[model].id)).amount;
        const setStake = (app: FastifyInstance, model: number, value: string) =>
          call(app, 'PUT', `/v1/models/${models[model].id}/stake`, owners[models[model].owner].apiKey, { amount: value });
        const withdraw = (app: FastifyInstance, owner: number, value: string) => call(app, 'POST', '/v1/me/wallet/withdrawals', owners[owner].apiKey, { amount: value });
        const advance = (app: FastifyInstance, era: EraState, seedValue: number) => advanceEra(app, era, operatorKey, () => targetBody(seedValue));
        const unresolved = (n: number) => nthUnresolved(eras, n);
        // Each run starts funded and staked, so its eras have stake at risk.
        for (const owner of owners) await ok(t.app, 'POST', `/v1/accounts/${owner.id}/wallet/credits`, operatorKey, { amount: '25000', reference: `opening ${run}` });
        for (const [k] of models.entries()) expect((await setStake(instance(k % 2), k, String(4000 + 2000 * k))).statusCode).toBe(200);

        for (const s of steps) {
          const app = instance(s.on);
          if (s.op === 'credit') {
            await ok(app, 'POST', `/v1/accounts/${owners[s.author].id}/wallet/credits`, s.on ? adminKey : operatorKey, { amount: s.amount, reference: `wire ${run}` });
          } else if (s.op === 'stake') {
            // Alone, a raise is refused exactly when the wallet holds less available than the raise.
            const available = units((await walletOf(models[s.model].owner)).available);
            const raise = units(s.amount) - units(await amountOf(s.model));
            const outcome = await paidOrShort(await setStake(app, s.model, s.amount));
            expect(outcome, `raise of ${raise} with ${available} available`).toBe(raise > available ? 'short' : 'paid');
            if (outcome === 'short') seen.short++;
            else if (raise > 0n) seen.paidRaises++;
          } else if (s.op === 'withdraw') {
            const available = units((await walletOf(s.author)).available);
            const outcome = await paidOrShort(await withdraw(app, s.author, s.amount));
            expect(outcome).toBe(units(s.amount) > available ? 'short' : 'paid');
          } else if (s.op === 'decide') {
            const { withdrawals } = await ok(app, 'GET', '/v1/withdrawals?status=pending', operatorKey);
            const mine = (withdrawals as { id: string; accountId: string }[]).filter((w) => owners.some((o) => o.id === w.accountId));
            if (mine.length) {
              const chosen = mine[s.pick % mine.length];
              if (s.complete) await ok(app, 'POST', `/v1/withdrawals/${chosen.id}/complete`, operatorKey, { reference: `paid ${run}` });
              else await ok(app, 'POST', `/v1/withdrawals/${chosen.id}/reject`, adminKey, { reason: 'not now' });
            }
          } else if (s.op === 'era') {
            const number = 2000 + ++eraCounter;
            await ok(app, 'POST', '/v1/eras', operatorKey, {
              number,
              opensAt: new Date(Date.now() - HOUR).toISOString(),
              closesAt: new Date(Date.now() + HOUR).toISOString(),
              payout: { clip: s.clip, corrMultiplier: 50, mmcMultiplier: 2, stakeThreshold: 72000 },
            });
            await putUniverse(app, number, ids, operatorKey);
            for (const [k, yes] of s.submitters.entries()) {
              if (!yes) continue;
              const res = await call(app, 'POST', `/v1/models/${models[k].id}/submissions?era=${number}`, owners[models[k].owner].apiKey, predictionsBody(s.seed + k), 'text/csv');
              expect(res.statusCode, res.body).toBe(201);
            }
            if (s.closed) await ok(instance(1 - s.on), 'POST', `/v1/eras/${number}/close`, operatorKey);
            eras.push({ number, status: s.closed ? 'closed' : 'open', target: false });
          } else if (s.op === 'advance') {
            const era = unresolved(s.era);
            if (era) await advance(app, era, s.seed);
          } else if (s.op === 'race') {
            const era = unresolved(s.era);
            const [changed] = await Promise.all([setStake(app, s.model, s.amount), era ? advance(instance(1 - s.on), era, s.seed) : undefined]);
            await paidOrShort(changed);
          } else {
            // The same wallet, a stake raise on one instance and a withdrawal on the other at once.
            const owner = models[s.model].owner;
            const [staked, withdrawn] = await Promise.all([setStake(app, s.model, s.stake), withdraw(instance(1 - s.on), owner, s.withdraw)]);
            await paidOrShort(staked);
            await paidOrShort(withdrawn);
          }

          // Every wallet and model, read through the API on either instance.
          const wallets: WalletBody[] = [];
          for (const [a] of owners.entries()) wallets.push(await walletOf(a, instance(a)));
          const views = new Map<string, StakeBody>();
          for (const [k, model] of models.entries()) {
            const view = await stakeOf(instance(k % 2), owners[model.owner].apiKey, model.id);
            expectLedgerInvariants(view);
            views.set(model.id, view);
          }
          const { withdrawals } = await ok(t.app, 'GET', '/v1/withdrawals?limit=1000', operatorKey);
          for (const [a, wallet] of wallets.entries()) {
            const where = `wallet of author ${a} in run ${run}`;
            let balance = 0n;
            for (const e of wallet.entries) {
              balance += units(e.delta);
              expect(units(e.balance), where).toBe(balance);
              expect(balance >= 0n, where).toBe(true);
            }
            expect(units(wallet.balance), where).toBe(balance);
            const held = units(wallet.held);
            const pending = (withdrawals as { accountId: string; status: string; amount: string }[]).filter((w) => w.accountId === owners[a].id && w.status === 'pending');
            expect(held, `${where}: held is what pending withdrawals hold`).toBe(sumOf(pending.map((w) => w.amount)));
            expect(held >= 0n && held <= balance && units(wallet.available) === balance - held, where).toBe(true);
          }
          for (const [k, model] of models.entries()) {
            const view = views.get(model.id)!;
            const wallet = wallets[model.owner];
            const of = (kind: string) => wallet.entries.filter((e) => e.kind === kind && e.modelId === model.id).map((e) => e.delta);
            // Every deposit into the model was paid by a stake entry of its owner's wallet, one for one.
            const deposits = view.history.filter((e) => e.kind === 'deposit').map((e) => e.delta);
            expect(of('stake').map((d) => -units(d)), `model ${k}: deposits paid from the wallet`).toEqual(deposits.map(units));
            // Every release that left the model is back in the wallet, and nothing else came back.
            const released = view.history.filter((e) => e.kind === 'released' && units(e.delta) !== 0n).map((e) => -units(e.delta));
            expect(of('unstake').map(units), `model ${k}: releases back in the wallet`).toEqual(released);
          }
          // A release left only once every era it waited for had resolved, and none waits for resolved eras only.
          const { rows: outOfTurn } = await t.database.pool.query(
            `select r.id from stake_releases r join stake_release_eras w on w.release_id = r.id join eras e on e.number = w.era_number
             where r.released_at is not null and (e.resolved_at is null or e.resolved_at > r.released_at)
             union
             select r.id from stake_releases r where r.released_at is null and exists (select 1 from stake_release_eras w where w.release_id = r.id)
               and not exists (select 1 from stake_release_eras w join eras e on e.number = w.era_number where w.release_id = r.id and e.resolved_at is null)`,
          );
          expect(outOfTurn, 'releases out of turn').toEqual([]);
          // Conservation over the whole database, and over this run's accounts from the API alone.
          expect(await verifyMoney(t.database.db)).toMatchObject({ imbalance: '0', conserved: true });
          const inside = sumOf(wallets.map((w) => w.balance)) + sumOf([...views.values()].map((v) => v.balance));
          const entries = wallets.flatMap((w) => w.entries);
          const credits = sumOf(entries.filter((e) => e.kind === 'credit').map((e) => e.delta));
          const out = -sumOf(entries.filter((e) => e.kind === 'withdrawn').map((e) => e.delta));
          const settled = [...views.values()].flatMap((v) => v.history).filter((e) => e.kind === 'payout' || e.kind === 'burn');
          expect(inside, `run ${run}: wallets + models = credits − withdrawn + payouts − burns`).toBe(credits - out + sumOf(settled.map((e) => e.delta)));
        }
      }),
      { numRuns: 6, seed: 11, endOnFailure: true },
    );
    // The sequences reached every movement: refused and paid raises, every kind of wallet entry, releases returned by a resolution.
    const { rows } = await t.database.pool.query(
      `select count(*) filter (where kind = 'credit')::int as credits, count(*) filter (where kind = 'stake')::int as stakes,
              count(*) filter (where kind = 'unstake')::int as unstakes, count(*) filter (where kind = 'withdrawal_held')::int as held,
              count(*) filter (where kind = 'withdrawal_released')::int as rejected, count(*) filter (where kind = 'withdrawn')::int as withdrawn,
              (select count(*)::int from stake_entries where kind = 'released' and era_number is not null and delta < 0) as "releasedByResolution",
              (select count(*)::int from stake_entries where kind = 'burn' and delta < 0) as burns,
              (select count(*)::int from stake_entries where kind = 'payout' and delta > 0) as payouts
       from wallet_entries`,
    );
    console.info('wallet property coverage', { ...rows[0], ...seen });
    for (const [what, n] of Object.entries({ ...rows[0], ...seen })) expect(n, what).toBeGreaterThan(0);
  }, 600_000);
});
