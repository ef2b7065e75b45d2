import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, predictionsCsv, submitCsv } from '../support/fixtures.js';

/*
 * Names that come from data are data: sector codes, tags, attribute names and target names such
 * as `constructor`, `__proto__`, `toString` and `hasOwnProperty` are ordinary names through the
 * whole report path — universe, close, targets, scores, resolution, the era report, the summary
 * and a policy preview — and come back as ordinary keys.
 */

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'] as const;
const N = 60;
const idsOf = (era: number) => Array.from({ length: N }, (_, i) => `nd${era}_${String(i).padStart(3, '0')}`);
const ids = idsOf(1);
const bins = [0, 0.25, 0.5, 0.75, 1];

let t: TestApp;
let operatorKey: string;
let authorKey: string;
let policyId: string;

/** Sectors: the four names (12 ids each) and 10; tags: the names on every other id; attributes: the names, numeric. */
function universeCsv(ids: string[]): string {
  const rows = ids.map((id, i) => {
    const sector = i < 48 ? NAMES[i % 4] : '10';
    const tags = NAMES.filter((_, k) => (i + k) % 2 === 0).join(';');
    const attributes = NAMES.map((_, k) => ((i * (k + 3)) % 17) / 10);
    return [id, sector, `${sector}1010`, 'US', tags, ...attributes].join(',');
  });
  return `id,sector,industry,country,tags,${NAMES.join(',')}\n${rows.join('\n')}\n`;
}

const staff = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, contentType?: string) =>
  t.app.inject({ method, url, headers: { ...bearer(operatorKey), ...(contentType ? { 'content-type': contentType } : {}) }, payload: payload as string });

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;

  const policy = await t.app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(ADMIN_KEY),
    payload: {
      name: 'names-are-data',
      rules: [
        { id: 'constructor', match: { field: 'tags', op: 'contains', value: 'constructor' }, action: { type: 'observe' } },
        { id: 'proto', match: { field: 'attributes.__proto__', op: 'gte', value: 1.5 }, action: { type: 'exclude' } },
        { id: 'to-string', match: { field: 'sector', op: 'eq', value: 'toString' }, action: { type: 'scale', multiplier: 0.5 } },
        { id: 'has-own', match: { field: 'attributes.hasOwnProperty', op: 'gte', value: 1.2 }, action: { type: 'exclude', side: 'long' } },
      ],
      neutralize: { by: 'sector', proportion: 1 },
    },
  });
  expect(policy.statusCode, policy.body).toBe(201);
  policyId = policy.json().id;
  const checker = (await createAccount(t.app, 'admin')).apiKey;
  const activated = await t.app.inject({ method: 'POST', url: `/v1/policies/${policyId}/activate`, headers: bearer(checker), payload: { reason: 'names are data' } });
  expect(activated.statusCode, activated.body).toBe(200);

  const models = [];
  for (let k = 0; k < 6; k++) models.push(await createModel(t.app, authorKey, `names_${k}`, String(100 * (k + 1))));
  for (const era of [1, 2]) {
    await createEra(t.app, { number: era, minCoverage: 1 }, operatorKey);
    const universe = await staff('PUT', `/v1/eras/${era}/universe`, universeCsv(idsOf(era)), 'text/csv');
    expect(universe.statusCode, universe.body).toBe(200);
    for (const [k, model] of models.entries()) {
      const values = ids.map((_, i) => Math.round((((i * (k + 2 + era)) % N) / N + 0.005) * 1e6) / 1e6);
      const res = await submitCsv(t.app, authorKey, model.id, era, predictionsCsv(idsOf(era), values));
      expect(res.statusCode, res.body).toBe(201);
    }
    expect((await staff('POST', `/v1/eras/${era}/close`)).statusCode).toBe(200);
  }
});
afterAll(async () => t.close());

describe('names from data', () => {
  it('are target names like any other, in CSV and JSON', async () => {
    const header = ['target', ...NAMES.filter((n) => n !== '__proto__')];
    const csv = `id,${header.join(',')}\n${ids.map((id, i) => [id, ...header.map((_, j) => bins[(i + j) % 5])].join(',')).join('\n')}\n`;
    const first = await staff('PUT', '/v1/eras/1/targets', csv, 'text/csv');
    expect(first.statusCode, first.body).toBe(200);
    const json = `{"ids": ${JSON.stringify(ids)}, "targets": {"__proto__": ${JSON.stringify(ids.map((_, i) => bins[(i + 3) % 5]))}}}`;
    const proto = await staff('PUT', '/v1/eras/1/targets', json, 'application/json');
    expect(proto.statusCode, proto.body).toBe(200);
    expect(proto.json().targets).toEqual([{ target: '__proto__', version: 1, count: N }]);
    for (const name of NAMES) {
      const scores = await staff('GET', `/v1/eras/1/scores?target=${name}`);
      expect(scores.statusCode, scores.body).toBe(200);
      expect(scores.json().scores).toHaveLength(6);
    }
    expect((await staff('POST', '/v1/eras/1/resolve')).statusCode).toBe(200);
    const bundle = await staff('GET', '/v1/eras/1/bundle');
    expect(bundle.statusCode, bundle.body).toBe(200);
    expect(Object.keys(bundle.json().targets).sort()).toEqual([...NAMES, 'target'].sort());
  });

  it('come back as ordinary keys of the era report, the summary and a policy preview', async () => {
    // The next era has targets the first lacks: its change against the first covers only targets both have.
    const next = `id,target,valueOf,isPrototypeOf\n${idsOf(2).map((id, i) => [id, bins[i % 5], bins[(i + 1) % 5], bins[(i + 2) % 5]].join(',')).join('\n')}\n`;
    const uploaded = await staff('PUT', '/v1/eras/2/targets', next, 'text/csv');
    expect(uploaded.statusCode, uploaded.body).toBe(200);

    const report = await t.app.inject({ method: 'GET', url: '/v1/reports/eras/1' });
    expect(report.statusCode, report.body).toBe(200);
    const body = report.json();
    for (const kind of ['unconstrained', 'traded'] as const) {
      for (const name of NAMES) {
        expect(Object.hasOwn(body.exposures[kind].attributes, name), `${kind} attribute ${name}`).toBe(true);
        expect(Object.hasOwn(body.exposures[kind].tags, name), `${kind} tag ${name}`).toBe(true);
        expect(typeof body.exposures[kind].attributes[name].net).toBe('number');
      }
    }
    expect(body.sectorTilt.map((s: { sector: string }) => s.sector).sort()).toEqual([...NAMES, '10'].sort());
    expect(body.performanceCost.map((c: { target: string }) => c.target).sort()).toEqual([...NAMES, 'target'].sort());

    const summary = await t.app.inject({ method: 'GET', url: '/v1/reports/summary' });
    expect(summary.statusCode, summary.body).toBe(200);
    const text = summary.body;
    for (const name of NAMES) expect(text).toContain(`"${name}":`);
    const second = summary.json().eras.find((e: { era: number }) => e.era === 2);
    expect(Object.keys(second.change.metaModelCorr)).toEqual(['target']);
    expect(Object.keys(second.metaModelCorr).sort()).toEqual(['isPrototypeOf', 'target', 'valueOf']);

    const preview = await staff('POST', `/v1/policies/${policyId}/preview`, { eras: [1, 2] });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.body).toContain('"__proto__"');
  });
});
