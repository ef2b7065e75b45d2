import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, startReplica, type TestApp } from '../support/app.js';
import { createEra, createModel, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra, metaModel, type MetaModelBody } from '../support/metamodel.js';
import { inverseNormal, numeraiCorr as toolsCorr, tieKeptRank } from '../support/numerai-tools.js';
import { putUniverseRows, type UniverseJsonRow } from '../support/policies.js';

/*
 * A random tournament of four eras with a policy change scheduled from era 3: the public report's
 * exposures and cost of the policy are checked against an independent computation from what the
 * operator is served (M and the traded value per id), the universe and the targets.
 */

const TOLERANCE = 1e-9;
const near = (actual: number | null | undefined, expected: number | null, label = '') => {
  if (expected === null) return expect(actual ?? null, label).toBeNull();
  expect(actual, label).not.toBeNull();
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(TOLERANCE);
};

const SECTORS = ['10', '15', '20', '25', '30'];
const BINS = [0, 0.25, 0.5, 0.75, 1];
const N = 60;

interface Exposure {
  long: number | null;
  short: number | null;
  net: number | null;
  coverage: number;
  universe: number;
}
interface Exposures {
  attributes: Record<string, Exposure>;
  tags: Record<string, Exposure>;
}
interface Cost {
  target: string;
  main: boolean;
  unconstrained: number | null;
  traded: number | null;
  cost: number | null;
  byRule: { ruleId: string; cost: number | null }[];
}
interface Report {
  era: number;
  policy: { name: string; version: number } | null;
  exposures: { unconstrained: Exposures; traded: Exposures };
  performanceCost: Cost[];
  metaModelCorr: { target: string; corr: number | null }[];
  byRule: { ruleId: string; action: string; scaled: number; matched: number }[];
}

function universe(era: number, random: () => number): UniverseJsonRow[] {
  return Array.from({ length: N }, (_, i) => {
    const tags = [...(i % 7 === 3 ? ['tobacco'] : []), ...(i % 5 === 1 ? ['defense'] : []), ...(i % 11 === 2 ? ['rare'] : [])];
    const attributes: Record<string, number | string> = { controversy: Math.floor(random() * 6), rating: random() < 0.5 ? 'AA' : 'B' };
    if (i % 9 !== 4) attributes.carbon_intensity = Math.round(random() * 1e6) / 1e6;
    if (i < 3) attributes.sparse_metric = random();
    return { id: `xw${era}i${String(i).padStart(3, '0')}`, sector: SECTORS[i % SECTORS.length], industry: null, country: 'NO', tags, attributes };
  });
}

const RATIONALE = {
  tobacco: 'Tobacco products harm health; excluded by most ethical mandates',
  carbon: 'High carbon intensity is a transition risk the fund will not carry long or short',
  controversy: 'Severe controversies get half the weight until resolved',
};

const V1 = {
  name: 'world',
  description: 'tobacco out, defense watched',
  rules: [
    { id: 'tobacco', rationale: RATIONALE.tobacco, reference: 'EU PAB Art. 12(1)(b)', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude' } },
    { id: 'defense-watch', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
  ],
};

const V2 = {
  name: 'world',
  description: 'tobacco and high carbon out, controversies halved, sector neutral',
  rules: [
    { id: 'tobacco', rationale: RATIONALE.tobacco, reference: 'EU PAB Art. 12(1)(b)', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude' } },
    { id: 'carbon', rationale: RATIONALE.carbon, match: { field: 'attributes.carbon_intensity', op: 'gte', value: 0.85 }, action: { type: 'exclude' } },
    { id: 'controversy', rationale: RATIONALE.controversy, match: { field: 'attributes.controversy', op: 'gte', value: 4 }, action: { type: 'scale', multiplier: 0.5 } },
  ],
  neutralize: { by: 'sector', proportion: 1 },
};

/*
 * The independent statement: exposures (docs/reports.md, exposures) and the cost of the policy
 * (step 12) on plain arrays, from the served rows.
 */

function plainExposures(values: (number | null)[], rows: UniverseJsonRow[]): Exposures {
  const held = values.map((v, i) => [v, i] as const).filter(([v]) => v !== null) as [number, number][];
  const r = tieKeptRank(held.map(([v]) => v));
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const gross = r.reduce((a, b) => a + Math.abs(b - mean), 0);
  const w = new Map(held.map(([, i], k) => [i, (r[k] - mean) / gross]));
  const exposure = (a: (number | undefined)[]): Exposure | null => {
    const covered = a.map((v, i) => [v, i] as const).filter(([v]) => v !== undefined) as [number, number][];
    if (covered.length < 5) return null;
    const inBook = covered.filter(([, i]) => w.has(i));
    const long = inBook.filter(([, i]) => w.get(i)! > 0);
    const short = inBook.filter(([, i]) => w.get(i)! < 0);
    const sum = (xs: [number, number][], f: (v: number, wi: number) => number) => xs.reduce((s, [v, i]) => s + f(v, w.get(i)!), 0);
    const coverage = sum(inBook, (_, wi) => Math.abs(wi));
    return {
      long: long.length < 5 ? null : sum(long, (v, wi) => wi * v) / sum(long, (_, wi) => wi),
      short: short.length < 5 ? null : sum(short, (v, wi) => -wi * v) / sum(short, (_, wi) => -wi),
      net: coverage === 0 ? null : sum(inBook, (v, wi) => wi * v) / coverage,
      coverage,
      universe: covered.reduce((s, [v]) => s + v, 0) / covered.length,
    };
  };
  const out: Exposures = { attributes: {}, tags: {} };
  for (const name of [...new Set(rows.flatMap((row) => Object.keys(row.attributes)))]) {
    const a = rows.map((row) => (typeof row.attributes[name] === 'number' ? row.attributes[name] : undefined));
    const e = exposure(a);
    if (e) out.attributes[name] = e;
  }
  for (const tag of [...new Set(rows.flatMap((row) => row.tags))]) {
    if (rows.filter((row) => row.tags.includes(tag)).length < 5) continue;
    const e = exposure(rows.map((row) => (row.tags.includes(tag) ? 1 : 0)));
    if (e) out.tags[tag] = e;
  }
  return out;
}

const pow15 = (x: number) => Math.sign(x) * Math.abs(x) ** 1.5;

/** numerai_corr over the ids with both values (no overlap rule, as the report states it). */
function plainCorr(values: (number | null)[], target: number[]): number {
  const meanT = target.reduce((a, b) => a + b, 0) / target.length;
  const kept = values.map((v, i) => [v, i] as const).filter(([v]) => v !== null) as [number, number][];
  const g = tieKeptRank(kept.map(([v]) => v)).map((p) => pow15(inverseNormal(p)));
  const t = kept.map(([, i]) => pow15(target[i] - meanT));
  const mg = g.reduce((a, b) => a + b, 0) / g.length;
  const mt = t.reduce((a, b) => a + b, 0) / t.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  g.forEach((x, k) => {
    ab += (x - mg) * (t[k] - mt);
    aa += (x - mg) ** 2;
    bb += (t[k] - mt) ** 2;
  });
  return ab / Math.sqrt(aa * bb);
}

interface PlainRule {
  id: string;
  matches: (row: UniverseJsonRow) => boolean;
  action: { type: 'exclude' } | { type: 'scale'; multiplier: number } | { type: 'observe' };
}

const V2_RULES: PlainRule[] = [
  { id: 'tobacco', matches: (row) => row.tags.includes('tobacco'), action: { type: 'exclude' } },
  { id: 'carbon', matches: (row) => typeof row.attributes.carbon_intensity === 'number' && row.attributes.carbon_intensity >= 0.85, action: { type: 'exclude' } },
  { id: 'controversy', matches: (row) => (row.attributes.controversy as number) >= 4, action: { type: 'scale', multiplier: 0.5 } },
];

/** The traded value of exclude / scale rules and full sector neutralization on M, ranked over the tradable ids. */
function plainTraded(rows: UniverseJsonRow[], m: number[], rules: PlainRule[], neutralize: boolean): (number | null)[] {
  const tradable = rows.map((row) => !rules.some((rule) => rule.action.type === 'exclude' && rule.matches(row)));
  const s = rows.map((row, i) => {
    if (!tradable[i]) return null;
    let v = m[i];
    for (const rule of rules) if (rule.action.type === 'scale' && rule.matches(row)) v *= rule.action.multiplier;
    return v;
  });
  if (neutralize) {
    const means = new Map<string, [number, number]>();
    s.forEach((v, i) => {
      if (v === null) return;
      const [sum, count] = means.get(rows[i].sector!) ?? [0, 0];
      means.set(rows[i].sector!, [sum + v, count + 1]);
    });
    s.forEach((v, i) => {
      if (v !== null) {
        const [sum, count] = means.get(rows[i].sector!)!;
        s[i] = v - sum / count;
      }
    });
  }
  const kept = s.map((v, i) => [v, i] as const).filter(([v]) => v !== null) as [number, number][];
  const ranks = tieKeptRank(kept.map(([v]) => v));
  const out: (number | null)[] = rows.map(() => null);
  kept.forEach(([, i], k) => (out[i] = ranks[k]));
  return out;
}

function expectExposures(served: Exposures, expected: Exposures, label: string) {
  expect(Object.keys(served.attributes).sort(), label).toEqual(Object.keys(expected.attributes).sort());
  expect(Object.keys(served.tags).sort(), label).toEqual(Object.keys(expected.tags).sort());
  for (const kind of ['attributes', 'tags'] as const) {
    for (const [name, e] of Object.entries(expected[kind])) {
      const s = served[kind][name];
      for (const key of ['long', 'short', 'net', 'coverage', 'universe'] as const) near(s[key], e[key], `${label} ${kind}.${name}.${key}`);
    }
  }
}

let t: TestApp;
let operatorKey: string;
let checker: { apiKey: string };
const rowsByEra = new Map<number, UniverseJsonRow[]>();
const targetsByEra = new Map<number, Map<string, number[]>>();
const served = new Map<number, MetaModelBody>();
const secrets: string[] = [];
let v1Id: string;
let v2Id: string;
let upcomingBeforeEra3: unknown;

async function putTarget(era: number, name: string, values: number[]) {
  const ids = rowsByEra.get(era)!.map((r) => r.id);
  const res = await t.app.inject({
    method: 'PUT',
    url: `/v1/eras/${era}/targets/${name}`,
    headers: { ...bearer(operatorKey), 'content-type': 'text/csv' },
    payload: `id,target\n${ids.map((id, i) => `${id},${values[i]}`).join('\n')}\n`,
  });
  expect(res.statusCode, res.body).toBe(200);
  targetsByEra.set(era, (targetsByEra.get(era) ?? new Map()).set(name, values));
}

async function createPolicy(document: object) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: document });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; warnings: { path: string; message: string }[] }>();
}

async function activate(id: string, reason: string, fromEra?: number) {
  const res = await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker.apiKey), payload: { reason, ...(fromEra === undefined ? {} : { fromEra }) } });
  return res;
}

async function report(era: number): Promise<Report> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Report>();
}

beforeAll(async () => {
  t = await createTestApp();
  const operator = await createAccount(t.app, 'operator', 'xw-operator');
  const author = await createAccount(t.app, 'author', 'xw-author');
  checker = await createAccount(t.app, 'admin', 'xw-checker');
  operatorKey = operator.apiKey;
  secrets.push(operator.id, author.id, 'xw-operator', 'xw-author', 'xw-checker');
  const random = rng(1795);
  const models = [];
  for (let k = 0; k < 8; k++) {
    const model = await createModel(t.app, author.apiKey, `xw_model_${k}`, String(Math.round(random() * 5000) + 10));
    models.push(model);
    secrets.push(model.id, model.name);
  }
  v1Id = (await createPolicy(V1)).id;
  expect((await activate(v1Id, 'first rules: tobacco out')).statusCode).toBe(200);

  for (let era = 1; era <= 4; era++) {
    await createEra(t.app, { number: era, mainTarget: 'target' }, operatorKey);
    const rows = universe(era, random);
    rowsByEra.set(era, rows);
    await putUniverseRows(t.app, era, rows, operatorKey);
    for (const row of rows) secrets.push(row.id);
    for (const [k, model] of models.entries()) {
      const values = rows.map((row) => Math.round(Math.min(1, Math.max(0, 0.3 + (row.sector === SECTORS[k % 5] ? 0.3 : 0) + 0.4 * random())) * 1e6) / 1e6);
      const res = await submitCsv(t.app, author.apiKey, model.id, era, predictionsCsv(rows.map((r) => r.id), values));
      expect(res.statusCode, res.body).toBe(201);
    }
    await closeEra(t.app, era, operatorKey);
    if (era === 1) {
      // Era 1 has closed and era 2 is open: the change is scheduled from era 3, so era 2 closes under v1.
      v2Id = (await createPolicy(V2)).id;
      const scheduled = await activate(v2Id, 'carbon and controversy rules, approved by the board', 3);
      expect(scheduled.statusCode, scheduled.body).toBe(200);
      expect(scheduled.json()).toMatchObject({ id: v2Id, status: 'scheduled', fromEra: 3, retired: null });
      upcomingBeforeEra3 = (await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json();
    }
    served.set(era, await metaModel(t.app, era, operatorKey));
    if (era < 4) {
      for (const target of ['target', 'cyrus_60']) await putTarget(era, target, rows.map(() => BINS[Math.floor(random() * 5)]));
    }
  }
  // A new version of era 2's main target: the cost follows it.
  await putTarget(2, 'target', rowsByEra.get(2)!.map(() => BINS[Math.floor(random() * 5)]));
});
afterAll(async () => t?.close());

describe('a scheduled policy change', () => {
  it('is public before it takes force, and takes force exactly at fromEra', async () => {
    expect(upcomingBeforeEra3).toMatchObject({ id: v1Id, name: 'world', version: 1, nextEra: 2, upcoming: { id: v2Id, version: 2, fromEra: 3, reason: 'carbon and controversy rules, approved by the board' } });
    expect(served.get(1)!.run.policy).toMatchObject({ id: v1Id });
    expect(served.get(2)!.run.policy).toMatchObject({ id: v1Id });
    expect(served.get(3)!.run.policy).toMatchObject({ id: v2Id });
    expect(served.get(4)!.run.policy).toMatchObject({ id: v2Id });
    const now = (await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json();
    expect(now).toMatchObject({ id: v2Id, fromEra: 3, upcoming: null });
    // A fromEra whose cutoff has passed is refused.
    const late = await activate(v1Id, 'too late', 4);
    expect(late.statusCode, late.body).toBe(409);
    expect(late.json().detail).toMatch(/fromEra must be 5 or later/);
  });

  it('is in the public changelog with both versions, their eras, reasons and the rules each added with rationale', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' });
    expect(res.statusCode).toBe(200);
    const { entries } = res.json<{ entries: { version: number; fromEra: number; toEra: number | null; status: string; reason: string; rules: { added: { id: string; rationale?: string; reference?: string }[]; removed: { id: string }[]; changed: { id: string }[] }; fields: { field: string }[] }[] }>();
    expect(entries.map((e) => [e.version, e.fromEra, e.toEra, e.status, e.reason])).toEqual([
      [1, 0, 2, 'retired', 'first rules: tobacco out'],
      [2, 3, null, 'active', 'carbon and controversy rules, approved by the board'],
    ]);
    expect(entries[0].rules.added.map((r) => r.id)).toEqual(['tobacco', 'defense-watch']);
    expect(entries[0].rules.added[0]).toMatchObject({ rationale: RATIONALE.tobacco, reference: 'EU PAB Art. 12(1)(b)' });
    expect(entries[1].rules.added.map((r) => [r.id, r.rationale])).toEqual([
      ['carbon', RATIONALE.carbon],
      ['controversy', RATIONALE.controversy],
    ]);
    expect(entries[1].rules.removed.map((r) => r.id)).toEqual(['defense-watch']);
    expect(entries[1].rules.changed).toEqual([]);
    expect(entries[1].fields.map((f) => f.field)).toEqual(['description', 'neutralize']);
    for (const secret of secrets) expect(res.body.includes(secret), secret).toBe(false);
    expect(res.body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
  });

  it('diffs any two versions by rule id', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/policies/${v2Id}/diff?against=${v1Id}`, headers: bearer(operatorKey) });
    expect(res.statusCode, res.body).toBe(200);
    const diff = res.json();
    expect(diff.from).toMatchObject({ id: v1Id, version: 1 });
    expect(diff.to).toMatchObject({ id: v2Id, version: 2 });
    expect(diff.rules.added.map((r: { id: string }) => r.id)).toEqual(['carbon', 'controversy']);
    expect(diff.rules.removed.map((r: { id: string }) => r.id)).toEqual(['defense-watch']);
    expect(diff.fields).toEqual([
      { field: 'description', from: V1.description, to: V2.description },
      { field: 'neutralize', from: null, to: { by: 'sector', proportion: 1 } },
    ]);
    const back = (await t.app.inject({ method: 'GET', url: `/v1/policies/${v1Id}/diff?against=${v2Id}`, headers: bearer(operatorKey) })).json();
    expect(back.rules.added.map((r: { id: string }) => r.id)).toEqual(['defense-watch']);
    expect((await t.app.inject({ method: 'GET', url: `/v1/policies/${v1Id}/diff?against=${v2Id}` })).statusCode).toBe(401);
  });
});

describe('the public report', () => {
  it("gives exposures of M and of the traded value equal to an independent computation from the operator's rows and the universe", async () => {
    for (let era = 1; era <= 4; era++) {
      const r = await report(era);
      const rows = rowsByEra.get(era)!;
      const body = served.get(era)!;
      expectExposures(r.exposures.unconstrained, plainExposures(body.rows.map((row) => row.unconstrained), rows), `era ${era} M`);
      expectExposures(r.exposures.traded, plainExposures(body.rows.map((row) => row.value), rows), `era ${era} traded`);
      // Attributes fewer than 5 ids have, tags fewer than 5 carry, and string attributes are not published.
      expect(Object.keys(r.exposures.unconstrained.attributes).sort()).toEqual(['carbon_intensity', 'controversy']);
      expect(Object.keys(r.exposures.unconstrained.tags).sort()).toEqual(['defense', 'rare', 'tobacco']);
    }
    // Under v2 the book holds no tobacco: its tobacco exposure is 0 on both legs, the universe's is not.
    const third = await report(3);
    expect(third.exposures.traded.tags.tobacco).toMatchObject({ long: 0, short: 0, net: 0 });
    expect(third.exposures.traded.tags.tobacco.universe).toBeGreaterThan(0);
  });

  it('gives the cost of the policy per target, in total and by rule (leave one out), equal to an independent computation', async () => {
    for (let era = 1; era <= 3; era++) {
      const r = await report(era);
      const rows = rowsByEra.get(era)!;
      const body = served.get(era)!;
      const m = body.rows.map((row) => row.unconstrained);
      const value = body.rows.map((row) => row.value);
      expect(r.performanceCost.map((c) => [c.target, c.main])).toEqual([
        ['cyrus_60', false],
        ['target', true],
      ]);
      for (const c of r.performanceCost) {
        const target = targetsByEra.get(era)!.get(c.target)!;
        const unconstrained = plainCorr(m, target);
        const traded = plainCorr(value, target);
        near(c.unconstrained, unconstrained, `era ${era} ${c.target} unconstrained`);
        near(c.traded, traded, `era ${era} ${c.target} traded`);
        near(c.cost, unconstrained - traded, `era ${era} ${c.target} cost`);
        // numerai-tools' own numerai_corr agrees where its overlap rule lets it score.
        const ids = rows.map((row) => row.id);
        const tools = toolsCorr(new Map(ids.flatMap((id, i): [string, number][] => (value[i] === null ? [] : [[id, value[i]]]))), new Map(ids.map((id, i) => [id, target[i]])));
        if (tools !== null) near(c.traded, tools, 'numerai-tools');
        expect(r.metaModelCorr.find((x) => x.target === c.target)!.corr).toBe(c.traded);
        if (era < 3) {
          // v1: only the tobacco exclusion changes the book; observing costs nothing.
          expect(c.byRule.map((b) => b.ruleId)).toEqual(['tobacco', 'defense-watch']);
          near(c.byRule[0].cost, plainCorr(plainTraded(rows, m, [], false), target) - traded, 'tobacco');
          near(c.byRule[1].cost, 0, 'observe');
          // The traded value is M ranked over the ids without tobacco.
          plainTraded(rows, m, V2_RULES.slice(0, 1), false).forEach((v, i) => near(value[i], v, 'v1 value'));
        } else {
          expect(c.byRule.map((b) => b.ruleId)).toEqual(['tobacco', 'carbon', 'controversy', 'neutralize:sector']);
          plainTraded(rows, m, V2_RULES, true).forEach((v, i) => near(value[i], v, 'v2 value'));
          for (const part of c.byRule) {
            const without = part.ruleId === 'neutralize:sector' ? plainTraded(rows, m, V2_RULES, false) : plainTraded(rows, m, V2_RULES.filter((rule) => rule.id !== part.ruleId), true);
            near(part.cost, plainCorr(without, target) - traded, `era ${era} ${c.target} without ${part.ruleId}`);
          }
        }
      }
    }
    expect((await report(4)).performanceCost).toEqual([]);
  });

  it('shows every part of the policy, the scale rule and the neutralization included', async () => {
    const r = await report(3);
    const rows = rowsByEra.get(3)!;
    const controversial = rows.filter((row) => (row.attributes.controversy as number) >= 4).length;
    const byRule = Object.fromEntries(r.byRule.map((b) => [b.ruleId, b]));
    expect(Object.keys(byRule)).toEqual(['tobacco', 'carbon', 'controversy', 'neutralize:sector']);
    expect(byRule.controversy).toMatchObject({ action: 'scale', matched: controversial, scaled: controversial });
    expect(byRule['neutralize:sector']).toMatchObject({ action: 'neutralize', scaled: served.get(3)!.rows.filter((row) => row.value !== null).length });
  });

  it('cumulates the cost per target over every era in the summary, read from stored figures', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/reports/summary' });
    expect(res.statusCode).toBe(200);
    const s = res.json<{
      eras: { era: number; performanceCost: Record<string, { cost: number }>; metaModelCorr: Record<string, number>; exposures: { tags: Record<string, { traded: number | null }> } }[];
      cumulativeCost: { target: string; eras: number; cost: number; unconstrained: number; traded: number }[];
    }>();
    expect(s.eras.map((p) => p.era)).toEqual([4, 3, 2, 1]);
    const point = (era: number) => s.eras.find((p) => p.era === era)!;
    for (const target of ['cyrus_60', 'target']) {
      let cost = 0;
      let traded = 0;
      for (let era = 1; era <= 3; era++) {
        const body = served.get(era)!;
        const values = targetsByEra.get(era)!.get(target)!;
        const eraCost = plainCorr(body.rows.map((row) => row.unconstrained), values) - plainCorr(body.rows.map((row) => row.value), values);
        near(point(era).performanceCost[target].cost, eraCost, `summary era ${era} ${target}`);
        cost += eraCost;
        traded += plainCorr(body.rows.map((row) => row.value), values);
      }
      const total = s.cumulativeCost.find((c) => c.target === target)!;
      expect(total.eras).toBe(3);
      near(total.cost, cost, `cumulative ${target}`);
      near(total.traded, traded, `cumulative traded ${target}`);
    }
    near(point(3).exposures.tags.tobacco.traded, 0, 'tobacco over time');
    // A later page of the summary keeps the totals over every era.
    const first = (await t.app.inject({ method: 'GET', url: '/v1/reports/summary?limit=1' })).json<typeof s & { next: string }>();
    const window = (await t.app.inject({ method: 'GET', url: `/v1/reports/summary?limit=1&cursor=${first.next}` })).json<typeof s>();
    expect(window.eras.map((p) => p.era)).toEqual([3]);
    expect(window.cumulativeCost).toEqual(s.cumulativeCost);
    expect((window.eras[0] as unknown as { change: unknown }).change).not.toBeNull();
  });

  it('names no id, model or account in any new public body', async () => {
    const bodies = [
      ...(await Promise.all([1, 2, 3, 4].map((era) => t.app.inject({ method: 'GET', url: `/v1/reports/eras/${era}` })))).map((res) => res.body),
      (await t.app.inject({ method: 'GET', url: '/v1/reports/summary' })).body,
      (await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' })).body,
    ];
    for (const body of bodies.slice(0, 5)) expect(body).toContain('exposures');
    for (const body of bodies) {
      for (const secret of secrets) expect(body.includes(secret), `"${secret}" appears in a public body`).toBe(false);
    }
  });
});

describe('two replicas closing the eras either side of fromEra at once', () => {
  it('close the era before fromEra under the old version and the era at fromEra under the new', async () => {
    const replicaA = await startReplica(t, { scheduler: false });
    const replicaB = await startReplica(t, { scheduler: false });
    try {
      const author = await createAccount(t.app, 'author');
      const model = await createModel(t.app, author.apiKey, 'xw_replica_model', '100');
      const others = [];
      for (let k = 0; k < 2; k++) others.push(await createModel(t.app, author.apiKey, `xw_replica_${k}`, String(50 + k)));
      const random = rng(99);
      for (const era of [10, 11, 12, 13]) {
        await createEra(t.app, { number: era }, operatorKey);
        const rows = universe(era, random);
        await putUniverseRows(t.app, era, rows, operatorKey);
        for (const m of [model, ...others]) {
          const res = await submitCsv(t.app, author.apiKey, m.id, era, predictionsCsv(rows.map((r) => r.id), rows.map(() => Math.round(random() * 1e6) / 1e6)));
          expect(res.statusCode, res.body).toBe(201);
        }
      }
      const v3 = await createPolicy({ ...V1, description: 'v3, from era 11' });
      expect((await activate(v3.id, 'v3 from era 11', 11)).statusCode).toBe(200);
      const v4 = await createPolicy({ ...V1, description: 'v4, from era 13' });
      expect((await activate(v4.id, 'v4 from era 13', 13)).json()).toMatchObject({ status: 'scheduled', fromEra: 13 });
      // The schedule from 13 replaced the one from 11, which never took force: era 11 stays under v2.
      const [c10, c11] = await Promise.all([closeEra(replicaA.app, 10, operatorKey), closeEra(replicaB.app, 11, operatorKey)]);
      expect(c10.run.policy?.id).toBe(v2Id);
      expect(c11.run.policy?.id).toBe(v2Id);
      // Out of order and at once: 13 (at fromEra) under v4, 12 (before it) under v2.
      const [c13, c12] = await Promise.all([closeEra(replicaA.app, 13, operatorKey), closeEra(replicaB.app, 12, operatorKey)]);
      expect(c12.run.policy?.id).toBe(v2Id);
      expect(c13.run.policy?.id).toBe(v4.id);
      const log = (await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' })).json<{ entries: { description: string; fromEra: number; toEra: number | null }[] }>();
      expect(log.entries.map((e) => e.description)).not.toContain('v3, from era 11');
      expect(log.entries.at(-1)).toMatchObject({ description: 'v4, from era 13', fromEra: 13, toEra: null });
    } finally {
      await replicaA.close();
      await replicaB.close();
    }
  });
});
