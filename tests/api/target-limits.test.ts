import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';

/*
 * Target uploads are bounded and sane: at most TARGETS_MAX_COLUMNS targets per upload, refused
 * from the header or the keys before any value is read; a version of the main target must vary
 * and cover 80 % of the universe; a JSON body that repeats a key is refused. Every refusal is a
 * 400 naming the fault, and stores nothing.
 */

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const ERA = 1;
const ids = liveIds(50, 'tl');
const bins = [0, 0.25, 0.5, 0.75, 1];
const column = (shift: number) => ids.map((_, i) => bins[(i + shift) % 5]);

const put = (url: string, payload: string, contentType: string) =>
  t.app.inject({ method: 'PUT', url, headers: { ...bearer(operatorKey), 'content-type': contentType }, payload });
const putCsv = (url: string, body: string) => put(url, body, 'text/csv');
const putJson = (url: string, body: string) => put(url, body, 'application/json');

function targetsCsv(names: string[], rows = ids) {
  return `id,${names.join(',')}\n${rows.map((id, i) => [id, ...names.map((_, j) => bins[(i + j) % 5])].join(',')).join('\n')}\n`;
}

async function versions(target: string): Promise<number | null> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/eras/${ERA}/scores?target=${target}`, headers: bearer(operatorKey) });
  return res.statusCode === 404 ? null : (res.json().version as number);
}

function problemCodes(res: { statusCode: number; body: string; json(): { errors?: { code: string }[] } }): string[] {
  expectProblem(res as Parameters<typeof expectProblem>[0], 400);
  return (res.json().errors ?? []).map((p) => p.code);
}

beforeAll(async () => {
  t = await createTestApp({ TARGETS_MAX_COLUMNS: '8' });
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  await createEra(t.app, { number: ERA, minCoverage: 1 }, operatorKey);
  await putUniverse(t.app, ERA, ids, operatorKey);
  for (const k of [0, 1, 2]) {
    const model = await createModel(t.app, authorKey, `limits_${k}`, '100');
    const res = await submitCsv(t.app, authorKey, model.id, ERA, predictionsCsv(ids, ids.map((_, i) => ((i * (k + 3)) % 50) / 50 + 0.01)));
    expect(res.statusCode, res.body).toBe(201);
  }
  expect((await t.app.inject({ method: 'POST', url: `/v1/eras/${ERA}/close`, headers: bearer(operatorKey) })).statusCode).toBe(200);
});
afterAll(async () => t.close());

describe('the number of targets in one upload', () => {
  it('takes TARGETS_MAX_COLUMNS targets and refuses one more, in CSV and in JSON, storing nothing', async () => {
    const nine = Array.from({ length: 9 }, (_, j) => `wide_${j}`);
    const csv = await putCsv(`/v1/eras/${ERA}/targets`, targetsCsv(nine));
    expect(problemCodes(csv)).toEqual(['too_many_columns']);
    expect(csv.json().detail).toContain('at most 8 per upload (TARGETS_MAX_COLUMNS)');
    const json = await putJson(`/v1/eras/${ERA}/targets`, JSON.stringify({ ids, targets: Object.fromEntries(nine.map((n, j) => [n, column(j)])) }));
    expect(problemCodes(json)).toEqual(['too_many_columns']);
    expect(await versions('wide_0')).toBeNull();

    const eight = await putCsv(`/v1/eras/${ERA}/targets`, targetsCsv(nine.slice(0, 8)));
    expect(eight.statusCode, eight.body).toBe(200);
    expect(eight.json().targets).toHaveLength(8);
  });

  it('refuses 10,000 targets from the header alone, whatever the rows hold', async () => {
    const names = Array.from({ length: 10_000 }, (_, j) => `c${j}`);
    // Rows that would each be refused if they were read: only the header is.
    const body = `id,${names.join(',')}\n${ids.map((id) => `${id},${'x,'.repeat(names.length - 1)}x`).join('\n')}\n`;
    const res = await putCsv(`/v1/eras/${ERA}/targets`, body);
    expect(problemCodes(res)).toEqual(['too_many_columns']);
    expect(res.json().detail).toContain('the header names 10,000');
    // In JSON, the keys are counted before the body is parsed: the values here are not even JSON.
    const json = `{"ids": [], "targets": {${names.map((n) => `"${n}": [not json]`).join(', ')}}}`;
    const refused = await putJson(`/v1/eras/${ERA}/targets`, json);
    expect(problemCodes(refused)).toEqual(['too_many_columns']);
  });
});

describe('the main target', () => {
  it('refuses a constant version, on either route, and takes a constant other target', async () => {
    const constant = ids.map(() => 0.5);
    const one = await putCsv(`/v1/eras/${ERA}/targets/target`, predictionsCsv(ids, constant, 'id,target'));
    expect(problemCodes(one)).toEqual(['constant_target']);
    expect(one.json().detail).toContain('the main target "target" has the same value (0.5) for every id');
    const many = await putJson(`/v1/eras/${ERA}/targets`, JSON.stringify({ ids, targets: { target: constant, cyrus_60: column(0) } }));
    expect(problemCodes(many)).toEqual(['constant_target']);
    expect(await versions('target')).toBeNull();
    expect(await versions('cyrus_60')).toBeNull();

    const other = await putCsv(`/v1/eras/${ERA}/targets/flat_20`, predictionsCsv(ids, constant, 'id,target'));
    expect(other.statusCode, other.body).toBe(200);
  });

  it('refuses a version covering less than 80 % of the universe, and takes one covering exactly 80 %', async () => {
    const oneRow = await putCsv(`/v1/eras/${ERA}/targets/target`, 'id,target\ntl00000,0.5\n');
    expect(problemCodes(oneRow).sort()).toEqual(['constant_target', 'insufficient_coverage']);
    const short = ids.slice(0, 39);
    const below = await putCsv(`/v1/eras/${ERA}/targets/target`, predictionsCsv(short, column(0), 'id,target'));
    expect(problemCodes(below)).toEqual(['insufficient_coverage']);
    expect(below.json().detail).toContain('covers 39 of the 50 ids of era 1\'s universe (78 %)');
    expect(await versions('target')).toBeNull();

    const enough = ids.slice(0, 40);
    const ok = await putCsv(`/v1/eras/${ERA}/targets/target`, predictionsCsv(enough, column(0), 'id,target'));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await versions('target')).toBe(1);
  });
});

describe('repeated keys in JSON', () => {
  it('are a 400 naming the key in a target upload, instead of the last one winning', async () => {
    const body = `{"ids": ${JSON.stringify(ids)}, "targets": {"ender_20": ${JSON.stringify(column(1))}, "ender_20": ${JSON.stringify(column(2))}}}`;
    const res = await putJson(`/v1/eras/${ERA}/targets`, body);
    expect(problemCodes(res)).toEqual(['duplicate_keys']);
    expect(res.json().detail).toContain('"targets.ender_20"');
    const single = await putJson(`/v1/eras/${ERA}/targets/ender_20`, `{"ids": ["tl00000"], "values": [0.5], "values": [1]}`);
    expect(problemCodes(single)).toEqual(['duplicate_keys']);
    expect(await versions('ender_20')).toBeNull();
  });

  it('are a 400 in every JSON body: a universe row with a repeated attribute, a policy, a stake', async () => {
    await createEra(t.app, { number: 2 }, operatorKey);
    const universe = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/2/universe',
      headers: { ...bearer(operatorKey), 'content-type': 'application/json' },
      payload: '{"rows": [{"id": "u1", "sector": "10", "attributes": {"coal": 0.1, "coal": 0.9}}]}',
    });
    expectProblem(universe, 400);
    expect(universe.json().detail).toContain('"rows[0].attributes.coal"');
    // A __proto__ key is refused as what it is, not as "not valid JSON".
    const proto = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/2/universe',
      headers: { ...bearer(operatorKey), 'content-type': 'application/json' },
      payload: '{"rows": [{"id": "u1", "sector": "10", "attributes": {"__proto__": 0.1}}]}',
    });
    expectProblem(proto, 400);
    expect(proto.json().detail).toContain('"rows[0].attributes.__proto__"');
    expect(proto.json().detail).toContain('as CSV');
    const model = await createModel(t.app, authorKey, 'limits_stake');
    const stake = await t.app.inject({
      method: 'PUT',
      url: `/v1/models/${model.id}/stake`,
      headers: { ...bearer(authorKey), 'content-type': 'application/json' },
      payload: '{"amount": "1", "amount": "1000"}',
    });
    expectProblem(stake, 400);
    expect(stake.json().errors).toEqual([{ path: 'body.amount', message: 'appears more than once in its object; send each key once' }]);
  });
});

describe('a large upload', () => {
  it('is parsed off the event loop and stored as the same numbers as a small one', async () => {
    // Past the size parsed on the event loop (64 KiB): the ingest worker parses it.
    const names = Array.from({ length: 8 }, (_, j) => `big_${j}`);
    const targets = Object.fromEntries(names.map((n, j) => [n, column(j).map((v, i) => (v + (i % 7) * 1e-13) / (1 + 1e-12))]));
    const body = JSON.stringify({ ids, targets }).replaceAll(',', `,${' '.repeat(200)}`);
    expect(body.length).toBeGreaterThan(64 * 1024);
    const big = await putJson(`/v1/eras/${ERA}/targets`, body);
    expect(big.statusCode, big.body).toBe(200);
    const small = await putJson(`/v1/eras/${ERA}/targets`, JSON.stringify({ ids, targets }));
    expect(small.statusCode, small.body).toBe(200);
    for (const name of names) {
      const [v1, v2] = await Promise.all(
        [1, 2].map((version) => t.app.inject({ method: 'GET', url: `/v1/eras/${ERA}/scores?target=${name}&version=${version}`, headers: bearer(operatorKey) })),
      );
      expect(v1.json().scores).toEqual(v2.json().scores);
    }
  });
});
