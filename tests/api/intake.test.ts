import { decodeRaw } from '../../src/domain/raw.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, rng, submitCsv, universeCsv } from '../support/fixtures.js';

let t: TestApp;
let operatorKey: string;
let authorKey: string;
let otherAuthorKey: string;

const IDS = liveIds(6000);
const random = rng(42);
const values = () => IDS.map(() => Math.round(random() * 1e6) / 1e6);

async function count(table: string) {
  const { rows } = await t.database.pool.query(`select count(*)::int as n from ${table}`);
  return rows[0].n as number;
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  otherAuthorKey = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('eras', () => {
  it('an operator creates an era with the documented defaults', async () => {
    const era = await createEra(t.app, { number: 100 }, operatorKey);
    expect(era).toMatchObject({
      number: 100,
      status: 'open',
      mainTarget: 'target',
      minCoverage: 1,
      payout: { corrMultiplier: 0.5, mmcMultiplier: 2, clip: 0.05, stakeThreshold: 72000 },
      universeSize: 0,
    });
    const got = await t.app.inject({ method: 'GET', url: '/v1/eras/100', headers: bearer(authorKey) });
    expect(got.json()).toMatchObject({ number: 100, status: 'open' });
    const list = await t.app.inject({ method: 'GET', url: '/v1/eras', headers: bearer(authorKey) });
    expect(list.json().eras.map((e: { number: number }) => e.number)).toContain(100);
  });

  it('a duplicate number is 409, closesAt not after opensAt is 400, authors may not create', async () => {
    const dup = await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: 100, closesAt: new Date(Date.now() + 1e6).toISOString() } });
    expectProblem(dup, 409);
    const at = new Date(Date.now() + 1e6).toISOString();
    const bad = expectProblem(
      await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(operatorKey), payload: { number: 101, opensAt: at, closesAt: at } }),
      400,
    );
    expect(JSON.stringify(bad.errors)).toContain('closesAt');
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(authorKey), payload: { number: 102, closesAt: at } }), 403);
    expect(await t.app.inject({ method: 'GET', url: '/v1/eras/101', headers: bearer(operatorKey) }).then((r) => r.statusCode)).toBe(404);
  });

  it('status follows the clock: scheduled before opensAt, closed after closesAt', async () => {
    const future = await createEra(t.app, { number: 103, opensAt: new Date(Date.now() + 3_600_000).toISOString(), closesAt: new Date(Date.now() + 7_200_000).toISOString() });
    expect(future.status).toBe('scheduled');
    const past = await createEra(t.app, { number: 104, opensAt: new Date(Date.now() - 7_200_000).toISOString(), closesAt: new Date(Date.now() - 3_600_000).toISOString() });
    expect(past.status).toBe('closed');
  });

  it('rejects unknown fields and out-of-range payout parameters', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/eras',
      headers: bearer(operatorKey),
      payload: { number: 105, closesAt: new Date(Date.now() + 1e6).toISOString(), payout: { clip: 2 }, colour: 'red' },
    });
    const body = expectProblem(res, 400);
    const paths = (body.errors as { path: string }[]).map((e) => e.path).join(' ');
    expect(paths).toContain('payout');
  });
});

describe('universe', () => {
  it('takes CSV with tags and attributes, and JSON rows; live ids are ids only', async () => {
    await createEra(t.app, { number: 200 });
    const res = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/200/universe',
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: '\uFEFFid,sector,industry,country,tags,thermal_coal_revenue_share,rating\r\na1,10,101010,US,tobacco;defense,0.02,AA\r\na2,20,,GB,,,\r\n',
    });
    expect(res.statusCode).toBe(200);
    // The reply says how each column was read.
    expect(res.json()).toEqual({
      era: 200,
      count: 2,
      columns: { numbers: ['thermal_coal_revenue_share'], codes: ['country', 'industry', 'rating', 'sector'], mixed: [], tags: ['tags'] },
    });
    const { rows } = await t.database.pool.query('select id, sector, industry, tags, attributes from universe_rows where era_number = 200 order by position');
    expect(rows).toEqual([
      { id: 'a1', sector: '10', industry: '101010', tags: ['tobacco', 'defense'], attributes: { thermal_coal_revenue_share: 0.02, rating: 'AA' } },
      { id: 'a2', sector: '20', industry: null, tags: [], attributes: {} },
    ]);
    const ids = await t.app.inject({ method: 'GET', url: '/v1/eras/200/live-ids', headers: bearer(authorKey) });
    expect(ids.json()).toEqual({ era: 200, ids: ['a1', 'a2'] });
    const csv = await t.app.inject({ method: 'GET', url: '/v1/eras/200/live-ids', headers: { ...bearer(authorKey), accept: 'text/csv' } });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toBe('id\na1\na2\n');

    const json = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/200/universe',
      headers: bearer(operatorKey),
      payload: { rows: [{ id: 'b1', sector: '10', tags: ['coal'], attributes: { x: 1 } }, { id: 'b2' }] },
    });
    expect(json.statusCode).toBe(200);
    expect(json.json().columns).toEqual({ numbers: ['x'], codes: ['sector'], mixed: [], tags: ['tags'] });
    // A column of numbers with a word in it is read cell by cell: the reply names it as mixed.
    const mixed = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/200/universe',
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: 'id,carbon\nb1,0.5\nb2,n/a\n',
    });
    expect(mixed.json()).toEqual({ era: 200, count: 2, columns: { numbers: [], codes: [], mixed: ['carbon'], tags: [] } });
    await t.app.inject({ method: 'PUT', url: '/v1/eras/200/universe', headers: bearer(operatorKey), payload: { rows: [{ id: 'b1', sector: '10', tags: ['coal'], attributes: { x: 1 } }, { id: 'b2' }] } });
    expect((await t.app.inject({ method: 'GET', url: '/v1/eras/200/live-ids', headers: bearer(authorKey) })).json().ids).toEqual(['b1', 'b2']);
  });

  it('takes a CSV of just id,sector and one with its columns in another order', async () => {
    await createEra(t.app, { number: 201 });
    const put = (payload: string) =>
      t.app.inject({ method: 'PUT', url: '/v1/eras/201/universe', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload });
    const stored = async () =>
      (await t.database.pool.query('select id, sector, industry, country, tags, attributes from universe_rows where era_number = 201 order by position')).rows;

    const short = await put('id,sector\nc1,10\nc2,45\n');
    expect(short.statusCode, short.body).toBe(200);
    expect(short.json()).toEqual({ era: 201, count: 2, columns: { numbers: [], codes: ['sector'], mixed: [], tags: [] } });
    expect(await stored()).toEqual([
      { id: 'c1', sector: '10', industry: null, country: null, tags: [], attributes: {} },
      { id: 'c2', sector: '45', industry: null, country: null, tags: [], attributes: {} },
    ]);

    const shuffled = await put('tags,controversy,country,id,industry,sector\ntobacco;defense,4,US,d1,302030,30\n,,GB,d2,,\n');
    expect(shuffled.statusCode, shuffled.body).toBe(200);
    expect(await stored()).toEqual([
      { id: 'd1', sector: '30', industry: '302030', country: 'US', tags: ['tobacco', 'defense'], attributes: { controversy: 4 } },
      { id: 'd2', sector: null, industry: null, country: 'GB', tags: [], attributes: {} },
    ]);

    // A header naming a column twice, or a column with no name, is refused naming it; nothing changes.
    const twice = expectProblem(await put('id,sector,sector\ne1,10,20\n'), 400);
    expect(JSON.stringify(twice.errors)).toContain('\\"sector\\"');
    const unnamed = expectProblem(await put(',id,sector\n0,e1,10\n'), 400);
    expect(unnamed.detail).toContain('column 1 has no name');
    expect(unnamed.detail).toContain('to_csv(index=False)');
    expect((await stored()).map((row) => row.id)).toEqual(['d1', 'd2']);
  });

  it('refuses duplicate and malformed ids naming them, and changes nothing', async () => {
    const before = (await t.database.pool.query('select id from universe_rows where era_number = 200 order by position')).rows;
    const res = await t.app.inject({
      method: 'PUT',
      url: '/v1/eras/200/universe',
      headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
      payload: 'id,sector,industry,country,tags\nx1,10,,,\nx1,10,,,\nbad id!,10,,,\n',
    });
    const body = expectProblem(res, 400);
    expect(JSON.stringify(body.errors)).toContain('x1');
    expect(JSON.stringify(body.errors)).toContain('bad id!');
    expect((await t.database.pool.query('select id from universe_rows where era_number = 200 order by position')).rows).toEqual(before);
  });

  it('authors may not set a universe; an unknown era is 404', async () => {
    expectProblem(await t.app.inject({ method: 'PUT', url: '/v1/eras/200/universe', headers: { ...bearer(authorKey), 'content-type': 'text/csv' }, payload: universeCsv(['z1']) }), 403);
    expectProblem(await t.app.inject({ method: 'PUT', url: '/v1/eras/999/universe', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: universeCsv(['z1']) }), 404);
  });
});

describe('models and stakes', () => {
  it('names are unique (409) and well-formed (400)', async () => {
    await createModel(t.app, authorKey, 'unique_one');
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(otherAuthorKey), payload: { name: 'unique_one' } }), 409);
    for (const name of ['Upper', 'has-dash', '', 'x'.repeat(41)]) {
      expectProblem(await t.app.inject({ method: 'POST', url: '/v1/models', headers: bearer(authorKey), payload: { name } }), 400);
    }
  });

  it('authors see their own models, operators and admins all', async () => {
    const mine = await createModel(t.app, authorKey, 'mine_a');
    const theirs = await createModel(t.app, otherAuthorKey, 'theirs_a');
    const names = async (key: string) =>
      ((await t.app.inject({ method: 'GET', url: '/v1/models', headers: bearer(key) })).json().models as { name: string }[]).map((m) => m.name);
    expect(await names(authorKey)).toContain(mine.name);
    expect(await names(authorKey)).not.toContain(theirs.name);
    expect(await names(operatorKey)).toEqual(expect.arrayContaining([mine.name, theirs.name]));
    expect(await names(ADMIN_KEY)).toEqual(expect.arrayContaining([mine.name, theirs.name]));
  });

  it('stakes are exact decimals with an append-only history; only the owner sets them', async () => {
    const model = await createModel(t.app, authorKey, 'staker');
    const put = (amount: unknown, key = authorKey) =>
      t.app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(key), payload: { amount } });
    expect((await put('0.1')).json()).toMatchObject({ modelId: model.id, amount: '0.1', balance: '0.1', releasing: '0' });
    expect((await put('123456789012345.000000000000000001')).json().amount).toBe('123456789012345.000000000000000001');
    expect((await put(0.3)).json().amount).toBe('0.3');
    for (const bad of ['-1', 'abc', '1e5', -2, 1e21, '']) expectProblem(await put(bad), 400);
    expectProblem(await put('5', otherAuthorKey), 403);
    expectProblem(await put('5', operatorKey), 403);

    const stake = await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/stake`, headers: bearer(operatorKey) });
    expect(stake.json().amount).toBe('0.3');
    // Lowered with nothing at risk: the release completes at once.
    expect(stake.json().history.map((h: { kind: string; balance: string; delta: string }) => [h.kind, h.balance, h.delta])).toEqual([
      ['deposit', '0.1', '0.1'],
      ['deposit', '123456789012345.000000000000000001', '123456789012344.900000000000000001'],
      ['release_requested', '123456789012345.000000000000000001', '0'],
      ['released', '0.3', '-123456789012344.700000000000000001'],
    ]);
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/stake`, headers: bearer(otherAuthorKey) }), 403);
    await expect(t.database.pool.query('update stake_entries set balance = 0')).rejects.toThrow(/append-only/);
  });
});

describe('submissions', () => {
  let model: { id: string };
  const ERA = 300;

  beforeAll(async () => {
    await createEra(t.app, { number: ERA });
    await putUniverse(t.app, ERA, IDS, operatorKey);
    model = await createModel(t.app, authorKey, 'six_thousand', '10');
  });

  it('takes a 6,000-id CSV, and the same content again returns the existing submission', async () => {
    const csv = predictionsCsv(IDS, values());
    const first = await submitCsv(t.app, authorKey, model.id, ERA, csv);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ era: ERA, modelId: model.id, rows: 6000, late: false });
    expect(first.json().sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await submitCsv(t.app, authorKey, model.id, ERA, csv.replaceAll('\n', '\r\n'));
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
  });

  it('a new valid submission supersedes the previous one, which is kept', async () => {
    const res = await submitCsv(t.app, authorKey, model.id, ERA, predictionsCsv(IDS, values(), 'id,probability'));
    expect(res.statusCode).toBe(201);
    const list = await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/submissions`, headers: bearer(authorKey) });
    const subs = list.json().submissions as { id: string; superseded: boolean }[];
    expect(subs).toHaveLength(2);
    expect(subs.find((s) => s.id === res.json().id)?.superseded).toBe(false);
    expect(subs.filter((s) => s.superseded)).toHaveLength(1);
  });

  it('accepts both JSON shapes; they hash like the equivalent CSV', async () => {
    const v = values();
    const json1 = await t.app.inject({ method: 'POST', url: `/v1/models/${model.id}/submissions?era=${ERA}`, headers: bearer(authorKey), payload: { ids: IDS, predictions: v } });
    expect(json1.statusCode).toBe(201);
    const json2 = await t.app.inject({
      method: 'POST',
      url: `/v1/models/${model.id}/submissions?era=${ERA}`,
      headers: bearer(authorKey),
      payload: { rows: IDS.map((id, i) => ({ id, prediction: v[i] })) },
    });
    expect(json2.statusCode).toBe(200);
    const csv = await submitCsv(t.app, authorKey, model.id, ERA, predictionsCsv(IDS, v));
    expect(csv.statusCode).toBe(200);
    expect(csv.json().sha256).toBe(json1.json().sha256);
  });

  it('stores raw values exactly and the prepared rank codes once', async () => {
    const v = values();
    v[0] = 0.12345678901234568;
    const res = await submitCsv(t.app, authorKey, model.id, ERA, predictionsCsv(IDS, v.map((x) => x)));
    const { rows } = await t.database.pool.query('select raw, raw_encoding, ranks, covered from submissions where id = $1', [res.json().id]);
    expect(rows[0].raw_encoding).toBe('float64');
    expect(Array.from(decodeRaw(rows[0].raw_encoding, rows[0].raw))).toEqual(v);
    expect(rows[0].covered).toBe(6000);
    expect((rows[0].ranks as Buffer).length).toBeLessThan((rows[0].raw as Buffer).length);
  });

  it('stores values written with a few decimals in 4 bytes each, and gives back the same doubles', async () => {
    const v = values().map((x) => Math.round(x * 1e6) / 1e6);
    v[1] = 0.9999999; // seven decimals
    const csv = predictionsCsv(IDS, v).replace(`${IDS[2]},${v[2]}`, `${IDS[2]},${v[2].toExponential()}`);
    const res = await submitCsv(t.app, authorKey, model.id, ERA, csv);
    expect(res.statusCode).toBe(201);
    const { rows } = await t.database.pool.query('select raw, raw_encoding from submissions where id = $1', [res.json().id]);
    expect(rows[0].raw_encoding).toBe('decimal');
    expect((rows[0].raw as Buffer).length).toBe(4 + 6000 * 4);
    expect(Array.from(decodeRaw(rows[0].raw_encoding, rows[0].raw))).toEqual(v);
  });

  it('refuses an era number out of range with a 400 that names it, storing nothing', async () => {
    const before = await count('submissions');
    for (const era of ['3000000000', '-1', '1.5']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/models/${model.id}/submissions?era=${era}`, headers: bearer(authorKey), payload: { ids: IDS, predictions: values() } });
      const body = expectProblem(res, 400);
      expect(JSON.stringify(body)).toContain('era');
    }
    expect(await count('submissions')).toBe(before);
  });

  it('defaults to the era open now', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/models/${model.id}/submissions`,
      headers: { ...bearer(authorKey), 'content-type': 'text/csv' },
      payload: predictionsCsv(IDS, values()),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().era).toBe(ERA);
  });

  describe('every malformed body is refused, naming what to fix, storing nothing', () => {
    const cases: [string, () => string, number, RegExp][] = [
      ['empty body', () => '', 400, /empty/i],
      ['missing header', () => IDS.map((id) => `${id},0.5`).join('\n'), 400, /header/i],
      ['extra columns', () => `id,prediction,extra\n${IDS.map((id) => `${id},0.5,1`).join('\n')}`, 400, /extra/i],
      ['unknown ids', () => predictionsCsv([...IDS.slice(0, 5999), 'nope_1'], values()), 400, /nope_1/],
      ['duplicate ids', () => predictionsCsv([...IDS, IDS[0]], [...values(), 0.5]), 400, /id00000/],
      ['too few ids', () => predictionsCsv(IDS.slice(0, 5990), values()), 400, /5,990|5990/],
      ['non-numeric', () => predictionsCsv(IDS, values()).replace(`${IDS[3]},`, `${IDS[3]},abc`).replace(/abc[0-9.]*/, 'abc'), 400, /abc/],
      ['NaN', () => predictionsCsv(IDS, values().map((x, i) => (i === 7 ? NaN : x))), 400, /NaN|finite/i],
      ['Infinity', () => predictionsCsv(IDS, values().map((x, i) => (i === 7 ? Infinity : x))), 400, /Infinity|finite/i],
      ['out of range', () => predictionsCsv(IDS, values().map((x, i) => (i === 9 ? 1.5 : x))), 400, /1\.5/],
      ['constant', () => predictionsCsv(IDS, IDS.map(() => 0.5)), 400, /constant/i],
    ];
    it.each(cases)('%s', async (_name, body, status, mentions) => {
      const before = await count('submissions');
      const res = await submitCsv(t.app, authorKey, model.id, ERA, body());
      const problem = expectProblem(res, status);
      expect(JSON.stringify(problem)).toMatch(mentions);
      expect(await count('submissions')).toBe(before);
    });

    it('names the first 20 offenders and counts them all', async () => {
      const ids = IDS.map((id, i) => (i < 25 ? `zz${i}` : id));
      const problem = expectProblem(await submitCsv(t.app, authorKey, model.id, ERA, predictionsCsv(ids, values())), 400);
      const unknown = (problem.errors as { code: string; ids: string[]; count: number }[]).find((e) => e.code === 'unknown_ids')!;
      expect(unknown.count).toBe(25);
      expect(unknown.ids).toHaveLength(20);
      expect(unknown.ids[0]).toBe('zz0');
    });

    it('a wrong content type is 415 and a body over the limit is 413', async () => {
      const before = await count('submissions');
      const xml = await t.app.inject({
        method: 'POST',
        url: `/v1/models/${model.id}/submissions?era=${ERA}`,
        headers: { ...bearer(authorKey), 'content-type': 'application/xml' },
        payload: '<x/>',
      });
      expectProblem(xml, 415);
      const huge = await submitCsv(t.app, authorKey, model.id, ERA, 'id,prediction\n' + 'x'.repeat(t.config.BODY_LIMIT_BYTES + 1));
      expectProblem(huge, 413);
      expect(await count('submissions')).toBe(before);
    });

    it('unknown era or model, another owner, an era not yet open and a missing universe', async () => {
      const csv = predictionsCsv(IDS, values());
      expectProblem(await submitCsv(t.app, authorKey, model.id, 9999, csv), 404);
      expectProblem(await submitCsv(t.app, authorKey, '00000000-0000-4000-8000-000000000000', ERA, csv), 404);
      expectProblem(await submitCsv(t.app, otherAuthorKey, model.id, ERA, csv), 403);
      await createEra(t.app, { number: 301, opensAt: new Date(Date.now() + 3_600_000).toISOString(), closesAt: new Date(Date.now() + 7_200_000).toISOString() });
      await putUniverse(t.app, 301, IDS);
      expect(JSON.stringify(expectProblem(await submitCsv(t.app, authorKey, model.id, 301, csv), 409))).toMatch(/not open/);
      await createEra(t.app, { number: 302 });
      expect(JSON.stringify(expectProblem(await submitCsv(t.app, authorKey, model.id, 302, csv), 409))).toMatch(/universe/);
    });
  });

  it('the universe is fixed once a submission has arrived', async () => {
    const res = await t.app.inject({ method: 'PUT', url: `/v1/eras/${ERA}/universe`, headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: universeCsv(IDS) });
    expectProblem(res, 409);
  });

  it('after close a submission is accepted as late', async () => {
    const ids = liveIds(50, 'late');
    await createEra(t.app, { number: 310, closesAt: new Date(Date.now() + 1_500).toISOString() });
    await putUniverse(t.app, 310, ids);
    const v = ids.map((_, i) => (i + 1) / 51);
    const onTime = await submitCsv(t.app, authorKey, model.id, 310, predictionsCsv(ids, v));
    expect(onTime.json().late).toBe(false);
    await new Promise((r) => setTimeout(r, 1_600));
    const late = await submitCsv(t.app, authorKey, model.id, 310, predictionsCsv(ids, v.slice().reverse()));
    expect(late.statusCode).toBe(201);
    expect(late.json().late).toBe(true);
    const subs = (await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/submissions`, headers: bearer(authorKey) })).json().submissions;
    const era310 = subs.filter((s: { era: number }) => s.era === 310);
    expect(era310.map((s: { late: boolean; superseded: boolean }) => [s.late, s.superseded]).sort()).toEqual([
      [false, false],
      [true, false],
    ]);
  });

  it('operators read submission lists; other authors may not; only authors submit', async () => {
    expect((await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/submissions`, headers: bearer(operatorKey) })).statusCode).toBe(200);
    expectProblem(await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/submissions`, headers: bearer(otherAuthorKey) }), 403);
    expectProblem(await submitCsv(t.app, operatorKey, model.id, ERA, predictionsCsv(IDS, values())), 403);
    expectProblem(await submitCsv(t.app, ADMIN_KEY, model.id, ERA, predictionsCsv(IDS, values())), 403);
  });
});
