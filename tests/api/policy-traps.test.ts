import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';
import { putUniverseRows, type UniverseJsonRow } from '../support/policies.js';

/*
 * The traps an admin walks into: a misspelt attribute, a value in the wrong case, a tag nobody
 * carries, and ids with no tags at all. And the first policy dry-run before any era has closed.
 */

const N = 100;
const SECTORS = ['Energy', 'Utilities', 'Financials', 'Health Care'];

function universe(era: number): UniverseJsonRow[] {
  return Array.from({ length: N }, (_, i) => ({
    id: `tr${era}i${String(i).padStart(3, '0')}`,
    sector: SECTORS[i % 4],
    industry: null,
    country: 'SE',
    // 77 of 100 ids have no tag: that is data (no tags), not missing data.
    tags: i < 77 ? [] : i % 2 === 0 ? ['controversial_weapons'] : ['defense'],
    attributes: { carbon: (i % 10) / 10 },
  }));
}

const TRAPS = {
  name: 'traps',
  onMissingData: 'exclude',
  rules: [
    { id: 'carbon', match: { field: 'attributes.carbn', op: 'gte', value: 0.5 }, action: { type: 'exclude' } },
    { id: 'energy', match: { field: 'sector', op: 'eq', value: 'energy' }, action: { type: 'exclude' } },
    { id: 'weapons', match: { field: 'tags', op: 'contains', value: 'weapons' }, action: { type: 'exclude' } },
    { id: 'cw', match: { field: 'tags', op: 'contains', value: 'controversial_weapons' }, action: { type: 'exclude' } },
  ],
};

let t: TestApp;
let operatorKey: string;
let checkerKey: string;
let authorKey: string;
const models: { id: string }[] = [];

async function submitAll(era: number) {
  const rows = universe(era);
  const random = rng(era);
  for (const model of models) {
    const res = await submitCsv(t.app, authorKey, model.id, era, predictionsCsv(rows.map((r) => r.id), rows.map(() => Math.round(random() * 1e6) / 1e6)));
    expect(res.statusCode, res.body).toBe(201);
  }
}

async function preview(policyId: string, eras: number[]) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/policies/${policyId}/preview`, headers: bearer(operatorKey), payload: { eras } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  checkerKey = (await createAccount(t.app, 'admin')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
  for (let k = 0; k < 6; k++) models.push(await createModel(t.app, authorKey, `trap_model_${k}`, String(100 * (k + 1))));
  await createEra(t.app, { number: 1 }, operatorKey);
  await putUniverseRows(t.app, 1, universe(1), operatorKey);
  await submitAll(1);
});
afterAll(async () => t?.close());

describe('policy traps', () => {
  it('warns at creation about a misspelt attribute, a value in the wrong case and a tag no id carries', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: TRAPS });
    expect(res.statusCode, res.body).toBe(201);
    const { warnings } = res.json<{ warnings: { path: string; message: string }[] }>();
    expect(warnings.map((w) => w.path)).toEqual(['rules[0].match', 'rules[1].match', 'rules[2].match']);
    expect(warnings[0].message).toMatch(/no id has attribute 'carbn'.*did you mean 'attributes\.carbon'/);
    expect(warnings[1].message).toMatch(/'energy'.*the data has 'Energy'/);
    expect(warnings[2].message).toMatch(/no id has the tag 'weapons'/);
  });

  it('dry-runs on an open era (the submissions so far), where an empty tag list is known data and the warnings come again', async () => {
    const { id } = (await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: { ...TRAPS, name: 'traps-preview' } })).json<{ id: string }>();
    const p = await preview(id, [1]);
    expect(p.warnings).toHaveLength(4);
    // Failing closed on the misspelt attribute leaves nothing to trade: said, and activation would be refused.
    expect(p.warnings[3]).toEqual({
      path: 'rules[0], rules[3], onMissingData',
      message: 'era 1: the exclusions leave 0 tradable ids (carbon (exclude both), cw (exclude both), onMissingData exclude): nothing left to order; this version cannot be activated',
    });
    const [era] = p.eras;
    expect(era).toMatchObject({ era: 1, run: null, provisional: { models: 6 } });
    const byRule = Object.fromEntries(era.byRule.map((r: { ruleId: string; excluded: number; missingData: number }) => [r.ruleId, r]));
    // The misspelt attribute is missing everywhere: onMissingData "exclude" fails closed on all 100 (what the warning is for).
    expect(byRule.carbon).toMatchObject({ excluded: 100, missingData: 100 });
    expect(byRule.energy).toMatchObject({ excluded: 0, missingData: 0 });
    // No id carries "weapons": nothing excluded, not the 77 % with no tags.
    expect(byRule.weapons).toMatchObject({ excluded: 0, missingData: 0 });
    expect(byRule.cw).toMatchObject({ excluded: universe(1).filter((r) => r.tags.includes('controversial_weapons')).length, missingData: 0 });
    expect(era.performanceCost).toEqual([]);
    expect(Object.keys(era.exposures.before.attributes)).toEqual(['carbon']);
  });

  it("a preview's M on an open era is the one the close then computes", async () => {
    const { id } = (await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: { name: 'fixed', rules: [{ id: 'cw', match: { field: 'tags', op: 'contains', value: 'controversial_weapons' }, action: { type: 'exclude' } }] } })).json<{ id: string }>();
    const before = (await preview(id, [1])).eras[0];
    expect((await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checkerKey), payload: { reason: 'weapons out' } })).statusCode).toBe(200);
    await closeEra(t.app, 1, operatorKey);
    const report = (await t.app.inject({ method: 'GET', url: '/v1/reports/eras/1' })).json();
    for (const [kind, served, previewed] of [
      ['M', report.exposures.unconstrained, before.exposures.before],
      ['traded', report.exposures.traded, before.exposures.after],
    ]) {
      for (const [name, e] of Object.entries(served.attributes as Record<string, Record<string, number>>)) {
        for (const key of ['long', 'short', 'net', 'coverage', 'universe']) expect(Math.abs(previewed.attributes[name][key] - e[key]), `${kind} ${name} ${key}`).toBeLessThan(1e-12);
      }
    }

    // With targets, a preview gives the cost of the version on them: the report's, for the version in force.
    const rows = universe(1);
    const random = rng(5);
    const csv = `id,target\n${rows.map((r) => `${r.id},${[0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]}`).join('\n')}\n`;
    const up = await t.app.inject({ method: 'PUT', url: '/v1/eras/1/targets/target', headers: { ...bearer(operatorKey), 'content-type': 'text/csv' }, payload: csv });
    expect(up.statusCode, up.body).toBe(200);
    const after = (await preview(id, [1])).eras[0];
    const reported = (await t.app.inject({ method: 'GET', url: '/v1/reports/eras/1' })).json().performanceCost;
    expect(after.performanceCost).toHaveLength(1);
    expect(after.run).not.toBeNull();
    for (const key of ['unconstrained', 'traded', 'cost']) expect(Math.abs(after.performanceCost[0][key] - reported[0][key])).toBeLessThan(1e-12);
    expect(after.performanceCost[0].byRule.map((r: { ruleId: string }) => r.ruleId)).toEqual(['cw']);
    expect(Math.abs(after.performanceCost[0].byRule[0].cost - reported[0].byRule[0].cost)).toBeLessThan(1e-12);
  });
});
