import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { bearer } from './app.js';
import { predictionsCsv, rng } from './fixtures.js';

/** The stake view of the OpenAPI document, as served. */
export interface StakeBody {
  modelId: string;
  amount: string;
  balance: string;
  releasing: string;
  atRisk: { era: number; amount: string }[];
  pendingReleases: { amount: string; requestedAt: string; waitsForEras: number[] }[];
  history: { at: string; kind: string; delta: string; amount: string; balance: string; era: number | null; note: string | null }[];
}

/** Exact decimal strings as integers of 1e-18, written here again so the tests do not lean on the code under test. */
export function units(decimal: string): bigint {
  expect(decimal).toMatch(/^-?\d+(\.\d{1,18})?$/);
  const [whole, fraction = ''] = decimal.replace('-', '').split('.');
  const value = BigInt(whole) * 10n ** 18n + BigInt(fraction.padEnd(18, '0'));
  return decimal.startsWith('-') ? -value : value;
}

export async function stakeOf(app: FastifyInstance, key: string, modelId: string): Promise<StakeBody> {
  const res = await app.inject({ method: 'GET', url: `/v1/models/${modelId}/stake`, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`stake view: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function putStake(app: FastifyInstance, key: string, modelId: string, amount: string) {
  const res = await app.inject({ method: 'PUT', url: `/v1/models/${modelId}/stake`, headers: bearer(key), payload: { amount } });
  if (res.statusCode !== 200) throw new Error(`stake: ${res.statusCode} ${res.body}`);
  return res.json<StakeBody>();
}

/**
 * What every stake view must satisfy whatever happened before: each entry moves the balance by
 * its delta and the amount as its kind says, nothing is ever negative, balance = Σ delta, each
 * era is settled at most once, releasing = balance − amount = Σ pending releases, and a pending
 * release waits for at least one era.
 */
export function expectLedgerInvariants(view: StakeBody) {
  let amount = 0n;
  let balance = 0n;
  const settled = new Set<number>();
  // Pending releases replayed from the history, oldest first: burns take from them in that order, and
  // a later request never waits for fewer unresolved eras than an earlier one, so they also leave in it.
  const pending: bigint[] = [];
  for (const [i, e] of view.history.entries()) {
    const where = `entry ${i} (${e.kind}) of ${view.modelId}`;
    const delta = units(e.delta);
    const after = { amount: units(e.amount), balance: units(e.balance) };
    expect(after.balance, where).toBe(balance + delta);
    expect(after.balance >= 0n && after.amount >= 0n && after.amount <= after.balance, where).toBe(true);
    switch (e.kind) {
      case 'deposit':
        expect(delta > 0n && after.amount === amount + delta, where).toBe(true);
        break;
      case 'release_requested':
        expect(delta === 0n && after.amount < amount, where).toBe(true);
        pending.push(amount - after.amount);
        break;
      case 'released':
        expect(delta <= 0n && after.amount === amount, where).toBe(true);
        expect(pending.shift(), `${where}: releases the oldest pending release, what burns left of it`).toBe(-delta);
        break;
      case 'payout':
        expect(delta >= 0n && after.amount === amount + delta && e.era !== null, where).toBe(true);
        break;
      case 'burn': {
        const fromAmount = -delta < amount ? -delta : amount;
        expect(delta <= 0n && after.amount === amount - fromAmount && e.era !== null, where).toBe(true);
        let rest = -delta - fromAmount;
        for (let k = 0; k < pending.length && rest > 0n; k++) {
          const take = rest < pending[k] ? rest : pending[k];
          pending[k] -= take;
          rest -= take;
        }
        expect(rest, `${where}: takes no more than the pending releases hold`).toBe(0n);
        break;
      }
      default:
        throw new Error(`${where}: unknown kind`);
    }
    if (e.kind === 'payout' || e.kind === 'burn') {
      expect(settled.has(e.era!), `${where}: era ${e.era} settled twice`).toBe(false);
      settled.add(e.era!);
    }
    amount = after.amount;
    balance = after.balance;
  }
  expect(units(view.amount)).toBe(amount);
  expect(units(view.balance)).toBe(balance);
  expect(units(view.releasing)).toBe(balance - amount);
  expect(view.pendingReleases.reduce((sum, r) => sum + units(r.amount), 0n)).toBe(balance - amount);
  expect(view.pendingReleases.map((r) => units(r.amount)), `pending releases of ${view.modelId}`).toEqual(pending);
  for (const r of view.pendingReleases) expect(r.waitsForEras.length, `a pending release of ${view.modelId} waits for nothing`).toBeGreaterThan(0);
}

/**
 * The at-risk snapshot of a closed era against the ledger, at the database's microsecond
 * precision: each model with a current on-time submission is in the closing run exactly when
 * the amount of its last entry stamped at or before closedAt is positive, with that amount.
 */
export async function expectAtRiskIsAmountAtCutoff(pool: import('pg').Pool, era: number) {
  const { rows } = await pool.query<{ model_id: string; expected: string | null; snapshot: string | null }>(
    `select s.model_id,
            (select se.amount::text from stake_entries se where se.model_id = s.model_id and se.at <= e.closed_at
             order by se.at desc, se.seq desc limit 1) as expected,
            (select ri.stake::text from run_inputs ri join meta_model_runs r on r.id = ri.run_id and r.seq = 1
             where r.era_number = e.number and ri.model_id = s.model_id) as snapshot
     from eras e join submissions s on s.era_number = e.number and not s.late and not s.superseded
     where e.number = $1 and e.closed_at is not null`,
    [era],
  );
  expect(rows.length, `era ${era} has no on-time submissions or is not closed`).toBeGreaterThan(0);
  for (const r of rows) {
    const expected = r.expected !== null && units(r.expected) > 0n ? units(r.expected) : null;
    expect(r.snapshot === null ? null : units(r.snapshot), `at-risk stake of ${r.model_id} in era ${era}`).toBe(expected);
  }
  return rows;
}

type Method = 'GET' | 'POST' | 'PUT';

/** A request as a caller with `key`, with an optional body and content type. */
export function call(app: FastifyInstance, method: Method, url: string, key: string, payload?: unknown, type?: string) {
  return app.inject({ method, url, headers: { ...bearer(key), ...(type ? { 'content-type': type } : {}) }, payload: payload as string });
}

/** The JSON reply of a request that must succeed (200 or 201); anything else throws with the body. */
export async function ok(app: FastifyInstance, method: Method, url: string, key: string, payload?: unknown, type?: string) {
  const res = await call(app, method, url, key, payload, type);
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** An era as a random tournament walks it. */
export interface EraState {
  number: number;
  status: 'open' | 'closed' | 'resolved';
  target: boolean;
}

/** Moves an era one stage on: open → closed → with a target (`target` gives its CSV) → resolved. */
export async function advanceEra(app: FastifyInstance, era: EraState, operatorKey: string, target: () => string) {
  if (era.status === 'open') {
    await ok(app, 'POST', `/v1/eras/${era.number}/close`, operatorKey);
    era.status = 'closed';
  } else if (!era.target) {
    await ok(app, 'PUT', `/v1/eras/${era.number}/targets/target`, operatorKey, target(), 'text/csv');
    era.target = true;
  } else {
    await ok(app, 'POST', `/v1/eras/${era.number}/resolve`, operatorKey);
    era.status = 'resolved';
  }
}

/** The n-th unresolved era (cycling), if any. */
export function nthUnresolved(eras: readonly EraState[], n: number): EraState | undefined {
  const candidates = eras.filter((e) => e.status !== 'resolved');
  return candidates.length ? candidates[n % candidates.length] : undefined;
}

/**
 * What the market does over `ids`: predictions lean towards it, and a target (seeded) follows it or
 * runs against it, so eras pay or burn heavily.
 */
export function marketBodies(ids: readonly string[]) {
  const truth = ids.map((_, i) => i / ids.length);
  return {
    predictionsBody: (seedValue: number) => {
      const random = rng(seedValue + 1);
      return predictionsCsv([...ids], truth.map((x) => Math.round((0.7 * x + 0.3 * random()) * 1e6) / 1e6));
    },
    targetBody: (seedValue: number) => {
      const random = rng(seedValue + 1);
      const against = random() < 0.5;
      const bins = [0, 0.25, 0.5, 0.75, 1];
      return predictionsCsv([...ids], truth.map((x) => bins[Math.min(4, Math.floor(((against ? 1 - x : x) * 0.8 + 0.2 * random()) * 5))]), 'id,target');
    },
  };
}
