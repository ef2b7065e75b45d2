import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';
import { expectLedgerInvariants, putStake, stakeOf, units } from '../support/stakes.js';

/*
 * The stake ledger through the API (docs/concepts.md and the OpenAPI document): the scenario of a model that lowers
 * its stake while it is at risk, overlapping eras, exact decimals, and what the database refuses.
 */

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const ids = liveIds(20, 'st');
// Predictions rise with the id, targets fall: CORR is strongly negative, so every era burns.
const falling = predictionsCsv(ids, ids.map((_, i) => (i + 1) / 21));
const targetCsv = `id,target\n${ids.map((id, i) => `${id},${[1, 0.75, 0.5, 0.25, 0][Math.floor((i * 5) / ids.length)]}`).join('\n')}\n`;

async function eraWithSubmissions(number: number, modelIds: string[], payout?: Record<string, number>) {
  await createEra(t.app, { number, minCoverage: 1, ...(payout ? { payout } : {}) }, operatorKey);
  await putUniverse(t.app, number, ids, operatorKey);
  for (const id of modelIds) expect((await submitCsv(t.app, authorKey, id, number, falling)).statusCode).toBe(201);
}

async function resolveWithTarget(number: number) {
  const up = await t.app.inject({ method: 'PUT', url: `/v1/eras/${number}/targets/target`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: targetCsv });
  expect(up.statusCode, up.body).toBe(200);
  const res = await t.app.inject({ method: 'POST', url: `/v1/eras/${number}/resolve`, headers: bearer(operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ totalPayout: string }>();
}

const sum = (history: { delta: string }[]) => history.reduce((s, e) => s + units(e.delta), 0n);

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('the stake ledger', () => {
  it('a stake lowered while at risk stays burnable and leaves only when the era resolves; the balance never goes negative', async () => {
    const model = await createModel(t.app, authorKey, 'lowers_at_risk', '100');
    await eraWithSubmissions(1, [model.id]);
    await closeEra(t.app, 1, operatorKey);
    expect((await stakeOf(t.app, authorKey, model.id)).atRisk).toEqual([{ era: 1, amount: '100' }]);

    const lowered = await putStake(t.app, authorKey, model.id, '0');
    expect(lowered).toMatchObject({ amount: '0', balance: '100', releasing: '100', atRisk: [{ era: 1, amount: '100' }] });
    expect(lowered.pendingReleases).toEqual([{ amount: '100', requestedAt: expect.any(String), waitsForEras: [1] }]);
    expect(lowered.history.map((e) => [e.kind, e.delta, e.amount, e.balance])).toEqual([
      ['deposit', '100', '100', '100'],
      ['release_requested', '0', '0', '100'],
    ]);
    expectLedgerInvariants(lowered);

    // One model alone is the meta-model, so MMC = 0; CORR < −0.1 puts 0.5·CORR below the clip: 100 × −0.05 = −5.
    const { totalPayout } = await resolveWithTarget(1);
    expect(totalPayout).toBe('-5');
    const after = await stakeOf(t.app, authorKey, model.id);
    expect(after).toMatchObject({ amount: '0', balance: '0', releasing: '0', atRisk: [], pendingReleases: [] });
    expect(after.history.slice(2).map((e) => [e.kind, e.delta, e.amount, e.balance, e.era, e.note])).toEqual([
      ['burn', '-5', '0', '95', 1, '5 of it from pending releases'],
      ['released', '-95', '0', '0', 1, null],
    ]);
    expect(sum(after.history)).toBe(units(after.balance));
    expectLedgerInvariants(after);
  });

  it('over overlapping eras a release waits for the last one; a burn past the balance is cut and says so', async () => {
    const model = await createModel(t.app, authorKey, 'overlapping', '100');
    // clip 1 and corr multiplier 100: each era burns the whole at-risk stake.
    const payout = { clip: 1, corrMultiplier: 100, mmcMultiplier: 2, stakeThreshold: 72000 };
    await eraWithSubmissions(2, [model.id], payout);
    await eraWithSubmissions(3, [model.id], payout);
    await closeEra(t.app, 2, operatorKey);
    await closeEra(t.app, 3, operatorKey);
    const lowered = await putStake(t.app, authorKey, model.id, '40');
    expect(lowered.pendingReleases).toEqual([{ amount: '60', requestedAt: expect.any(String), waitsForEras: [2, 3] }]);
    // Raising it again is a new deposit; the pending release stays.
    const raised = await putStake(t.app, authorKey, model.id, '50');
    expect(raised).toMatchObject({ amount: '50', balance: '110', releasing: '60' });

    await resolveWithTarget(2);
    const mid = await stakeOf(t.app, authorKey, model.id);
    // −100: 50 from the amount, 50 from the pending release, which still waits for era 3.
    expect(mid.history.at(-1)).toMatchObject({ kind: 'burn', delta: '-100', amount: '0', balance: '10', era: 2, note: '50 of it from pending releases' });
    expect(mid.pendingReleases).toEqual([{ amount: '10', requestedAt: expect.any(String), waitsForEras: [3] }]);
    expectLedgerInvariants(mid);

    await resolveWithTarget(3);
    const end = await stakeOf(t.app, authorKey, model.id);
    expect(end.history.slice(-2).map((e) => [e.kind, e.delta, e.amount, e.balance, e.era, e.note])).toEqual([
      ['burn', '-10', '0', '0', 3, 'burn of 100 cut at the balance of 10; 10 of it from pending releases'],
      ['released', '0', '0', '0', 3, 'nothing left to release: burned in full while pending'],
    ]);
    expect(end).toMatchObject({ amount: '0', balance: '0', releasing: '0', pendingReleases: [], atRisk: [] });
    expect(sum(end.history)).toBe(0n);
    expectLedgerInvariants(end);
  });

  it('a burn past the amount takes from pending releases oldest first; releases leave in the order they were asked for', async () => {
    const model = await createModel(t.app, authorKey, 'two_releases', '100');
    // clip 0.5, corr multiplier 100: each era burns half its at-risk stake.
    const payout = { clip: 0.5, corrMultiplier: 100, mmcMultiplier: 2, stakeThreshold: 72000 };
    for (const era of [4, 5, 6]) await eraWithSubmissions(era, [model.id], payout);
    await closeEra(t.app, 4, operatorKey);
    await closeEra(t.app, 5, operatorKey);
    await putStake(t.app, authorKey, model.id, '60');
    await closeEra(t.app, 6, operatorKey);
    const lowered = await putStake(t.app, authorKey, model.id, '20');
    expect(lowered.atRisk).toEqual([{ era: 4, amount: '100' }, { era: 5, amount: '100' }, { era: 6, amount: '60' }]);
    expect(lowered.pendingReleases.map((r) => [r.amount, r.waitsForEras])).toEqual([['40', [4, 5]], ['40', [4, 5, 6]]]);

    await resolveWithTarget(4);
    // −50: 20 from the amount, 30 from the older release.
    const first = await stakeOf(t.app, authorKey, model.id);
    expect(first.history.at(-1)).toMatchObject({ kind: 'burn', delta: '-50', amount: '0', balance: '50', note: '30 of it from pending releases' });
    expect(first.pendingReleases.map((r) => [r.amount, r.waitsForEras])).toEqual([['10', [5]], ['40', [5, 6]]]);

    await resolveWithTarget(5);
    // −50: 10 from the older release, 40 from the newer; the older one leaves (empty), the newer waits for era 6.
    const second = await stakeOf(t.app, authorKey, model.id);
    expect(second.history.slice(-2).map((e) => [e.kind, e.delta, e.balance, e.note])).toEqual([
      ['burn', '-50', '0', '50 of it from pending releases'],
      ['released', '0', '0', 'nothing left to release: burned in full while pending'],
    ]);
    expect(second.pendingReleases.map((r) => [r.amount, r.waitsForEras])).toEqual([['0', [6]]]);
    expectLedgerInvariants(second);

    await resolveWithTarget(6);
    const end = await stakeOf(t.app, authorKey, model.id);
    expect(end.history.slice(-2).map((e) => [e.kind, e.delta, e.balance, e.era, e.note])).toEqual([
      ['burn', '0', '0', 6, 'burn of 30 cut at the balance of 0'],
      ['released', '0', '0', 6, 'nothing left to release: burned in full while pending'],
    ]);
    expectLedgerInvariants(end);
  });

  it('a stake lowered with nothing at risk leaves at once; a stake set after close is not at risk in that era', async () => {
    const model = await createModel(t.app, authorKey, 'nothing_at_risk', '30');
    const view = await putStake(t.app, authorKey, model.id, '10');
    expect(view).toMatchObject({ amount: '10', balance: '10', releasing: '0', pendingReleases: [] });
    expect(view.history.slice(1).map((e) => [e.kind, e.delta, e.era])).toEqual([
      ['release_requested', '0', null],
      ['released', '-20', null],
    ]);
    // Unchanged amount: no entry.
    expect((await putStake(t.app, authorKey, model.id, '10.000')).history).toHaveLength(3);
  });

  it('amounts are exact decimals: a JSON number only with at most 15 significant digits, else a 400 asking for a string', async () => {
    const model = await createModel(t.app, authorKey, 'exact_amounts');
    const put = (raw: string) =>
      t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: { ...bearer(authorKey), 'content-type': 'application/json' }, payload: raw });
    const amountAfter = async (raw: string) => {
      const res = await put(raw);
      expect(res.statusCode, `${raw}: ${res.body}`).toBe(200);
      return res.json().amount as string;
    };
    expect(await amountAfter('{"amount": "9007199254740993"}')).toBe('9007199254740993');
    expect(await amountAfter('{"amount": 123456789012345}')).toBe('123456789012345');
    expect(await amountAfter('{"amount": 0.1}')).toBe('0.1');
    expect(await amountAfter('{"amount": 1.5e2}')).toBe('150');
    expect(await amountAfter('{"amount": "0.000000000000000001"}')).toBe('0.000000000000000001');
    expect(await amountAfter('{"amount": 25.000000000000000000}')).toBe('25');

    const before = await stakeOf(t.app, authorKey, model.id);
    const tooLong = expectProblem(await put('{"amount": 9007199254740993}'), 400);
    expect(tooLong.detail).toMatch(/body\.amount.*16 significant digits.*decimal string/);
    expect(tooLong.errors).toEqual([expect.objectContaining({ path: 'body.amount', message: expect.stringContaining('"9007199254740993"') })]);
    for (const raw of [
      '{"amount": -1}',
      '{"amount": "-1"}',
      '{"amount": "NaN"}',
      '{"amount": "Infinity"}',
      '{"amount": "1e5"}',
      '{"amount": "e5"}',
      '{"amount": ""}',
      '{"amount": "0.0000000000000000001"}',
      '{"amount": 1e-19}',
      '{"amount": 1e400}',
      '{"amount": "123456789012345678901"}',
      '{"amount": "12,5"}',
    ]) {
      const problem = expectProblem(await put(raw), 400);
      expect(problem.errors, raw).toEqual([expect.objectContaining({ path: 'body.amount' })]);
    }
    expectProblem(await put('{"amount": NaN}'), 400);
    expectProblem(await put('{"amount": 1, "other": 2}'), 400);
    expect(await stakeOf(t.app, authorKey, model.id)).toEqual(before);
  });

  it('the database refuses a broken ledger: a wrong balance, a negative one, a second payout for an era, edits', async () => {
    const model = await createModel(t.app, authorKey, 'guarded', '10');
    const pool = t.database.pool;
    const insert = (seq: number, kind: string, delta: string, amount: string, balance: string, prev: [string, string] | null, era: number | null = null) =>
      pool.query(
        `insert into stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [model.id, seq, kind, delta, amount, balance, prev ? seq - 1 : null, prev?.[0] ?? null, prev?.[1] ?? null, era],
      );
    await expect(insert(2, 'deposit', '5', '15', '16', ['10', '10'])).rejects.toThrow(/stake_entries_chain_check/);
    await expect(insert(2, 'deposit', '5', '15', '15', ['10', '11'])).rejects.toThrow(/stake_entries_previous_fk|stake_entries_chain_check/);
    await expect(insert(2, 'burn', '-20', '0', '-10', ['10', '10'], 1)).rejects.toThrow(/stake_entries_balance_check/);
    await expect(insert(2, 'payout', '5', '10', '15', ['10', '10'], 1)).rejects.toThrow(/stake_entries_movement_check/);
    await expect(insert(3, 'deposit', '5', '15', '15', ['10', '10'])).rejects.toThrow(/stake_entries_previous_fk/);
    await insert(2, 'payout', '1', '11', '11', ['10', '10'], 1);
    await expect(insert(3, 'burn', '-1', '10', '10', ['11', '11'], 1)).rejects.toThrow(/stake_entries_settled_once_key/);
    // balance − amount must be what pending releases hold, checked at commit.
    await expect(insert(3, 'release_requested', '0', '5', '11', ['11', '11'])).rejects.toThrow(/stake_entries_release_check/);
    await expect(pool.query(`insert into stake_releases (model_id, amount, remaining) values ($1, 3, 3)`, [model.id])).rejects.toThrow(/balance - amount is 0 but its pending releases hold 3/);
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(`insert into stake_releases (model_id, amount, remaining) values ($1, 3, 3) returning id`, [model.id]);
      await client.query(
        `insert into stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, release_id)
         values ($1, 3, 'release_requested', 0, 5, 11, 2, 11, 11, $2)`,
        [model.id, rows[0].id],
      );
      await expect(client.query('commit')).rejects.toThrow(/balance - amount is 6 but its pending releases hold 3/);
    } finally {
      client.release();
    }
    await expect(pool.query('update stake_entries set balance = 0')).rejects.toThrow(/append-only/);
    await expect(pool.query('delete from stake_entries')).rejects.toThrow(/append-only/);
    await expect(pool.query('update stake_releases set remaining = remaining + 1')).rejects.toThrow(/only shrinks/);
    expectLedgerInvariants(await stakeOf(t.app, operatorKey, model.id));
  });
});
