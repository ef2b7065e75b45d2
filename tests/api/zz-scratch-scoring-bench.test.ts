import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeRankCodes } from '../../src/domain/prepared.js';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, liveIds, putUniverse, rng } from '../support/fixtures.js';

let t: TestApp;
const K = 10_000;
const N = 6_000;
const IDS = liveIds(N);
beforeAll(async () => { t = await createTestApp(); }, 600_000);
afterAll(async () => t.close());

it('bench', async () => {
  const op = (await createAccount(t.app, 'operator')).apiKey;
  const author = await createAccount(t.app, 'author');
  await createEra(t.app, { number: 1 }, op);
  await putUniverse(t.app, 1, IDS, op);
  const random = rng(1);
  const pool = t.database.pool;
  const base = Uint32Array.from({ length: N }, (_, i) => 2 * (i + 1));
  for (let b = 0; b < K; b += 500) {
    const names: string[] = []; const ranks: Buffer[] = [];
    for (let k = b; k < b + 500; k++) {
      names.push(`m${k}`);
      const c = base.slice();
      for (let i = N - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); const x = c[i]; c[i] = c[j]; c[j] = x; }
      ranks.push(encodeRankCodes(c));
    }
    await pool.query(`with m as (insert into models (name, account_id) select unnest($1::text[]), $2 returning id, name),
      st as (insert into stake_events (model_id, kind, delta, balance) select id, 'set', 10, 10 from m)
      insert into submissions (era_number, model_id, sha256, rows, covered, late, raw, ranks)
      select 1, m.id, m.name, ${N}, ${N}, false, '\\x'::bytea, r.ranks from m join unnest($1::text[], $3::bytea[]) as r(name, ranks) on r.name = m.name`,
      [names, author.id, ranks]);
  }
  let t0 = performance.now();
  const closed = await t.app.inject({ method: 'POST', url: '/v1/eras/1/close', headers: bearer(op) });
  expect(closed.statusCode, closed.body).toBe(200);
  console.log('close ms', performance.now() - t0);
  const target = `id,target\n${IDS.map((id) => `${id},${Math.floor(random() * 5) / 4}`).join('\n')}\n`;
  for (let rep = 0; rep < 3; rep++) {
    const rss0 = process.memoryUsage().rss;
    t0 = performance.now();
    const up = await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { ...bearer(op), 'content-type': 'text/csv' }, payload: target });
    expect(up.statusCode, up.body).toBe(200);
    console.log('score ms', performance.now() - t0, up.body, 'rss MB', (process.memoryUsage().rss - rss0) / 1e6);
  }
  t0 = performance.now();
  const res = await t.app.inject({ method: 'POST', url: '/v1/eras/1/resolve', headers: bearer(op) });
  console.log('resolve ms', performance.now() - t0, res.body);
  t0 = performance.now();
  const sc = await t.app.inject({ method: 'GET', url: '/v1/eras/1/scores', headers: bearer(op) });
  console.log('get scores ms', performance.now() - t0, sc.body.length);
}, 600_000);
