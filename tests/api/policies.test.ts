import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionForEra } from '../../src/services/policies.js';
import { ADMIN_KEY, bearer, createAccount, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createModel, predictionsCsv, submitCsv } from '../support/fixtures.js';
import { closeEra, metaModel, plainTieKeptRank, referenceEra } from '../support/metamodel.js';
import {
  PAB_POLICY,
  closedEraWithRun,
  pabExclusions,
  plainMean,
  plainPearson,
  plainSectorExposure,
  plainTurnover,
  policyUniverse,
  putUniverseRows,
  type UniverseJsonRow,
} from '../support/policies.js';
import { reference } from '../support/reference.js';

type Key = string;

const refEra = reference.era;

async function createPolicy(t: TestApp, key: Key, document: unknown) {
  return t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(key), payload: document as object });
}

async function created(t: TestApp, key: Key, document: unknown) {
  const res = await createPolicy(t, key, document);
  if (res.statusCode !== 201) throw new Error(`policy: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string; name: string; version: number; status: string }>();
}

async function activate(t: TestApp, key: Key, id: string, reason = 'approved by the ethics committee') {
  return t.app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(key), payload: { reason } });
}

async function activated(t: TestApp, key: Key, id: string, reason?: string) {
  const res = await activate(t, key, id, reason);
  if (res.statusCode !== 200) throw new Error(`activate: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string; status: 'active'; activatedAt: string; retired: string | null }>();
}

const simple = (name: string, ids: string[] = ['x1']) => ({
  name,
  rules: [{ id: 'named-ids', match: { field: 'id', op: 'in', value: ids }, action: { type: 'exclude' } }],
});

describe('policy lifecycle', () => {
  let t: TestApp;
  let alice: Awaited<ReturnType<typeof createAccount>>;
  let bob: Awaited<ReturnType<typeof createAccount>>;
  let operatorKey: Key;
  let authorKey: Key;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createAccount(t.app, 'admin', 'alice');
    bob = await createAccount(t.app, 'admin', 'bob');
    operatorKey = (await createAccount(t.app, 'operator')).apiKey;
    authorKey = (await createAccount(t.app, 'author')).apiKey;
  });
  afterAll(async () => t.close());

  it('has no active policy at first: the public route answers 404 without a key', async () => {
    const body = expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/active' }), 404);
    expect(body.detail).toMatch(/no policy is active/);
  });

  it.each([
    ['an unknown op deep in a predicate', { rules: [{}, {}, { match: { any: [{ field: 'sector', op: 'startsWith', value: '10' }] } }] }, 'rules[2].match.any[0].op'],
    ['an unknown field', { rules: [{ match: { field: 'colour', op: 'eq', value: 'red' } }] }, 'rules[0].match.field'],
    ['an unknown action', { rules: [{ action: { type: 'ban' } }] }, 'rules[0].action.type'],
    ['a multiplier above 1', { rules: [{ action: { type: 'scale', multiplier: 1.5 } }] }, 'rules[0].action.multiplier'],
    ['a proportion above 1', { neutralize: { by: 'sector', proportion: 2 } }, 'neutralize.proportion'],
    ['a duplicate rule id', { rules: [{}, { id: 'r0' }] }, 'rules[1].id'],
    ['an unknown top-level key', { colour: 'red' }, ''],
    ['a malformed predicate', { rules: [{ match: { all: [], any: [] } }] }, 'rules[0].match'],
  ])('refuses %s with a 400 naming the path', async (_label, change, path) => {
    const rule = (i: number) => ({ id: `r${i}`, match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'exclude' } });
    const changedRules = (change as { rules?: object[] }).rules;
    const document = {
      name: 'broken',
      ...change,
      rules: changedRules ? changedRules.map((r, i) => ({ ...rule(i), ...r })) : [rule(0)],
    };
    const body = expectProblem(await createPolicy(t, ADMIN_KEY, document), 400);
    const errors = body.errors as { path: string; message: string }[];
    expect(errors.map((e) => e.path)).toContain(path);
    expect(errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it('refuses bodies that are not a document, and stores nothing when it refuses', async () => {
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: [1, 2] }), 400);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/policies', headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/json' }, payload: '{' }), 400);
    const { rows } = await t.database.pool.query(`select (select count(*) from policies)::int as policies, (select count(*) from audit_log where action = 'policy.create')::int as audits`);
    expect(rows[0]).toEqual({ policies: 0, audits: 0 });
  });

  it('numbers versions per name, 1, 2, … even when created concurrently', async () => {
    const v1 = await created(t, alice.apiKey, simple('ethical-core'));
    expect(v1).toMatchObject({ name: 'ethical-core', version: 1, status: 'draft' });
    const v2 = await created(t, alice.apiKey, simple('ethical-core', ['x2']));
    expect(v2.version).toBe(2);
    expect((await created(t, alice.apiKey, simple('other'))).version).toBe(1);
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => created(t, bob.apiKey, simple('ethical-core', [`y${i}`]))));
    expect(burst.map((p) => p.version).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8]);

    const list = await t.app.inject({ method: 'GET', url: '/v1/policies?name=ethical-core', headers: bearer(ADMIN_KEY) });
    expect(list.statusCode).toBe(200);
    expect(list.json().policies.map((p: { version: number }) => p.version)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    const all = await t.app.inject({ method: 'GET', url: '/v1/policies', headers: bearer(ADMIN_KEY) });
    expect(all.json().policies).toHaveLength(9);
  });

  it('shows one version with its normalised document, author and no activation yet', async () => {
    const v1 = await created(t, alice.apiKey, { ...PAB_POLICY, name: 'shown' });
    const res = await t.app.inject({ method: 'GET', url: `/v1/policies/${v1.id}`, headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: v1.id,
      name: 'shown',
      version: 1,
      status: 'draft',
      mode: 'enforce',
      description: PAB_POLICY.description,
      author: { id: alice.id, name: 'alice' },
      activatedAt: null,
      activatedBy: null,
      retiredAt: null,
      document: { ...PAB_POLICY, name: 'shown' },
    });
    // Defaults are filled in, so the stored version says exactly what it does.
    expect(res.json().document.rules[0].action).toEqual({ type: 'exclude', side: 'both' });
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/00000000-0000-4000-8000-000000000000', headers: bearer(ADMIN_KEY) }), 404);
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/policies/not-a-uuid', headers: bearer(ADMIN_KEY) }), 400);
  });

  it('never changes a version: the database refuses UPDATE of the document, and DELETE once it is part of the history', async () => {
    const v = await created(t, alice.apiKey, simple('frozen'));
    await expect(t.database.pool.query(`update policies set document = '{"name":"frozen","rules":[]}' where id = $1`, [v.id])).rejects.toThrow(/immutable/);
    await expect(t.database.pool.query(`update policies set version = 9 where id = $1`, [v.id])).rejects.toThrow(/immutable/);
    // A draft may be withdrawn (deleted); a rejected, scheduled or activated one never is.
    const rejected = await t.app.inject({ method: 'POST', url: `/v1/policies/${v.id}/reject`, headers: bearer(bob.apiKey), payload: { reason: 'kept' } });
    expect(rejected.statusCode, rejected.body).toBe(200);
    await expect(t.database.pool.query(`delete from policies where id = $1`, [v.id])).rejects.toThrow(/immutable/);
    await expect(t.database.pool.query(`update policy_rejections set reason = 'changed' where policy_id = $1`, [v.id])).rejects.toThrow(/append-only/);
    // A new version is the way to change a policy.
    expect((await created(t, alice.apiKey, simple('frozen', ['x9']))).version).toBe(2);
  });

  it('four-eyes: the author cannot activate; another admin can, with a reason', async () => {
    const v = await created(t, alice.apiKey, simple('four-eyes'));
    const refused = expectProblem(await activate(t, alice.apiKey, v.id), 403);
    expect(refused.detail).toMatch(/four-eyes.*another admin/);
    expectProblem(await activate(t, bob.apiKey, v.id, '   '), 400);
    expectProblem(await t.app.inject({ method: 'POST', url: `/v1/policies/${v.id}/activate`, headers: bearer(bob.apiKey), payload: {} }), 400);

    const ok = await activated(t, bob.apiKey, v.id, 'board minute 2024-07');
    expect(ok).toMatchObject({ id: v.id, status: 'active', retired: null });
    const shown = (await t.app.inject({ method: 'GET', url: `/v1/policies/${v.id}`, headers: bearer(ADMIN_KEY) })).json();
    expect(shown).toMatchObject({ status: 'active', activatedBy: { id: bob.id, name: 'bob' }, retiredAt: null });

    // Activating the active version again is a conflict, not a second activation.
    const again = expectProblem(await activate(t, ADMIN_KEY, v.id), 409);
    expect(again.detail).toMatch(/already in force/);

    const pub = await t.app.inject({ method: 'GET', url: '/v1/policies/active' });
    expect(pub.statusCode).toBe(200);
    expect(pub.json()).toMatchObject({ id: v.id, name: 'four-eyes', version: 1, document: { name: 'four-eyes', mode: 'enforce' } });
    expect(pub.json().activatedAt).toBe(ok.activatedAt);
  });

  it('activating another version retires the active one, in one step, and logs both with the reason', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json<{ id: string }>();
    const next = await created(t, bob.apiKey, simple('four-eyes', ['x2', 'x3']));
    expect(next.version).toBe(2);
    const ok = await activated(t, alice.apiKey, next.id, 'add x2 and x3');
    expect(ok.retired).toBe(before.id);

    const old = (await t.app.inject({ method: 'GET', url: `/v1/policies/${before.id}`, headers: bearer(ADMIN_KEY) })).json();
    expect(old.status).toBe('retired');
    expect(old.retiredAt).toBe(ok.activatedAt);
    expect((await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json().id).toBe(next.id);
    const { rows } = await t.database.pool.query(`select count(*)::int as n from policy_activations where cancelled_at is null`);
    expect(rows[0].n).toBe(2);
    const log = await t.app.inject({ method: 'GET', url: `/v1/audit-log?subject=policy:${before.id}`, headers: bearer(ADMIN_KEY) });
    const retire = log.json().entries.find((e: { action: string }) => e.action === 'policy.retire');
    expect(retire).toMatchObject({ actorId: alice.id, reason: 'add x2 and x3', details: { replacedBy: next.id, fromEra: 0 } });
    const activation = (await t.app.inject({ method: 'GET', url: `/v1/audit-log?subject=policy:${next.id}`, headers: bearer(ADMIN_KEY) })).json().entries;
    expect(activation.map((e: { action: string }) => e.action)).toEqual(['policy.activate', 'policy.create']);
    expect(activation[0]).toMatchObject({ actorId: alice.id, reason: 'add x2 and x3', details: { replaces: before.id, status: 'active', fromEra: 0, cancelledSchedules: [] } });
    expect(activation[1]).toMatchObject({ actorId: bob.id, details: { name: 'four-eyes', version: 2, document: { name: 'four-eyes' } } });
  });

  it('re-activates a retired version (a rollback): the activations table says which version each era uses', async () => {
    const [v1, v2] = (await t.app.inject({ method: 'GET', url: '/v1/policies?name=four-eyes', headers: bearer(ADMIN_KEY) })).json().policies.reverse() as {
      id: string;
      activatedAt: string;
    }[];
    const rollback = await activated(t, bob.apiKey, v1.id, 'roll back to v1');
    expect(rollback.retired).toBe(v2.id);
    // No era has closed: every activation applied from era 0, the latest wins.
    expect((await versionForEra(0, t.database.db))?.id).toBe(v1.id);
    const log = (await t.app.inject({ method: 'GET', url: '/v1/policies/changelog' })).json<{ entries: { name: string; version: number; fromEra: number; coversNoEra: boolean; reason: string; status: string }[] }>();
    const fourEyes = log.entries.filter((e) => e.name === 'four-eyes');
    expect(fourEyes.map((e) => [e.version, e.fromEra, e.coversNoEra, e.status, e.reason])).toEqual([
      [1, 0, true, 'retired', 'board minute 2024-07'],
      [2, 0, true, 'retired', 'add x2 and x3'],
      [1, 0, false, 'active', 'roll back to v1'],
    ]);
    const shown = (await t.app.inject({ method: 'GET', url: `/v1/policies/${v2.id}`, headers: bearer(ADMIN_KEY) })).json();
    expect(shown).toMatchObject({ status: 'retired', retiredAt: rollback.activatedAt });
  });

  it('lets only admins manage policies, staff preview, and anyone read the active one', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const routes: { method: 'GET' | 'POST'; url: string; payload?: object; who: 'admin' | 'staff' | 'public' }[] = [
      { method: 'POST', url: '/v1/policies', payload: simple('authz'), who: 'admin' },
      { method: 'GET', url: '/v1/policies', who: 'admin' },
      { method: 'GET', url: `/v1/policies/${missing}`, who: 'admin' },
      { method: 'POST', url: `/v1/policies/${missing}/activate`, payload: { reason: 'x' }, who: 'admin' },
      { method: 'POST', url: `/v1/policies/${missing}/preview`, payload: { eras: [1] }, who: 'staff' },
      { method: 'GET', url: '/v1/policies/active', who: 'public' },
    ];
    const callers = { none: undefined, author: authorKey, operator: operatorKey, admin: bob.apiKey };
    for (const route of routes) {
      for (const [role, key] of Object.entries(callers)) {
        const res = await t.app.inject({ method: route.method, url: route.url, payload: route.payload, headers: key ? bearer(key) : {} });
        const allowed = route.who === 'public' || role === 'admin' || (route.who === 'staff' && role === 'operator');
        const label = `${route.method} ${route.url} as ${role}: ${res.statusCode}`;
        if (allowed) expect([401, 403], label).not.toContain(res.statusCode);
        else expect(res.statusCode, label).toBe(role === 'none' ? 401 : 403);
      }
    }
  });
});

describe('four-eyes switched off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ POLICY_FOUR_EYES: 'false' });
  });
  afterAll(async () => t.close());

  it('lets the author activate their own version', async () => {
    const v = await created(t, ADMIN_KEY, simple('solo'));
    expect((await activated(t, ADMIN_KEY, v.id)).status).toBe('active');
  });
});

describe('preview', () => {
  let t: TestApp;
  let authorKey: Key;
  let operatorKey: Key;
  let pab: { id: string };
  const universes = new Map<number, UniverseJsonRow[]>();

  beforeAll(async () => {
    t = await createTestApp();
    authorKey = (await createAccount(t.app, 'author')).apiKey;
    operatorKey = (await createAccount(t.app, 'operator')).apiKey;
    // Eras 10 and 12 are closed with a run; 11 exists but is still open.
    for (const [era, n] of [[10, 160], [12, 137]] as const) {
      universes.set(era, policyUniverse(n, `e${era}_`));
      await closedEraWithRun(t.app, era, universes.get(era)!, authorKey, operatorKey);
    }
    await t.app.inject({ method: 'POST', url: '/v1/eras', headers: bearer(ADMIN_KEY), payload: { number: 11, closesAt: new Date(Date.now() + 3_600_000).toISOString() } });
    pab = await created(t, ADMIN_KEY, PAB_POLICY);
  });
  afterAll(async () => t.close());

  /** The preview of one era, rebuilt from the served M and the universe by hand. */
  async function expected(era: number) {
    const rows = universes.get(era)!;
    const served = await metaModel(t.app, era, operatorKey);
    const m = served.rows.map((r) => r.unconstrained);
    const excluded = rows.map((row) => pabExclusions(row).length > 0);
    const sectors = rows.map((r) => r.sector!);
    const sectorMeanOverT = new Map<string, number>();
    for (const sector of new Set(sectors)) {
      sectorMeanOverT.set(sector, plainMean(m.filter((_, i) => sectors[i] === sector && !excluded[i])));
    }
    const s = m.map((v, i) => (excluded[i] ? undefined : v - sectorMeanOverT.get(sectors[i])!));
    const tradable = s.map((_, i) => i).filter((i) => !excluded[i]);
    const tilt = [...new Set(sectors)].sort().map((sector) => {
      const inSector = rows.map((_, i) => i).filter((i) => sectors[i] === sector);
      return {
        sector,
        ids: inSector.length,
        before: plainMean(inSector.map((i) => m[i])),
        after: plainMean(inSector.filter((i) => !excluded[i]).map((i) => s[i]!)),
      };
    });
    const rankS = plainTieKeptRank(tradable.map((i) => s[i]));
    const rankM = plainTieKeptRank(tradable.map((i) => m[i]));
    return {
      rows,
      excludedCount: excluded.filter(Boolean).length,
      observed: rows.filter((r) => r.tags.includes('defense')).length,
      tilt,
      spearman: plainPearson(rankS as number[], rankM as number[]),
      exposure: plainSectorExposure(s, sectors),
      exposureM: plainSectorExposure(m, sectors),
      excludedShare: excluded.filter(Boolean).length / rows.length,
    };
  }

  it('dry-runs a version on closed eras and matches an independent computation', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/v1/policies/${pab.id}/preview`, headers: bearer(operatorKey), payload: { eras: [12, 10] } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.policy).toEqual({ id: pab.id, name: 'pab-core', version: 1, mode: 'enforce' });
    expect(body.eras.map((e: { era: number }) => e.era)).toEqual([12, 10]);

    const e10 = await expected(10);
    const e12 = await expected(12);
    for (const [got, want] of [[body.eras[0], e12], [body.eras[1], e10]] as const) {
      const n = want.rows.length;
      expect(got.universeSize).toBe(n);
      expect(got.tradable).toBe(n - want.excludedCount);
      expect(got.excluded.count).toBe(want.excludedCount);
      expect(got.excluded.share).toBeCloseTo(want.excludedCount / n, 12);
      expect(got.observed.count).toBe(want.observed);
      const byRule = Object.fromEntries(got.byRule.map((r: { ruleId: string }) => [r.ruleId, r]));
      for (const ruleId of ['tobacco', 'controversial-weapons', 'thermal-coal']) {
        const count = want.rows.filter((row) => pabExclusions(row).includes(ruleId)).length;
        expect(byRule[ruleId], ruleId).toMatchObject({ matched: count, excluded: count, observed: 0, action: { type: 'exclude', side: 'both' } });
        expect(byRule[ruleId].share).toBeCloseTo(count / n, 12);
      }
      expect(byRule['defense-watch']).toMatchObject({ observed: want.observed, excluded: 0 });
      expect(byRule['thermal-coal'].missingData).toBe(want.rows.filter((r) => r.attributes.thermal_coal_revenue_share === undefined).length);
      expect(got.sectorTilt.map((s: { sector: string }) => s.sector)).toEqual(want.tilt.map((s) => s.sector));
      got.sectorTilt.forEach((s: { ids: number; before: number; after: number }, g: number) => {
        expect(s.ids).toBe(want.tilt[g].ids);
        expect(s.before).toBeCloseTo(want.tilt[g].before, 9);
        expect(s.after).toBeCloseTo(want.tilt[g].after, 9);
        // Sector neutral: every sector's mean of S is zero.
        expect(Math.abs(s.after)).toBeLessThan(1e-12);
      });
      expect(got.spearman).toBeCloseTo(want.spearman, 9);
      expect(got.spearman).toBeLessThan(1);
    }

    // Era 10 has no earlier era with a run; era 12's previous closed era is 10 (11 is open).
    expect(body.eras[1].turnover).toBeNull();
    const turnover = body.eras[0].turnover;
    expect(turnover.previousEra).toBe(10);
    expect(turnover.sector).toBeCloseTo(plainTurnover(e12.exposure, e10.exposure), 9);
    expect(turnover.sectorUnconstrained).toBeCloseTo(plainTurnover(e12.exposureM, e10.exposureM), 9);
    expect(turnover.sectorUnconstrained).toBeGreaterThan(0);
    expect(turnover.excludedShareChange).toBeCloseTo(e12.excludedShare - e10.excludedShare, 12);
  });

  it('previews a shadow document as if it were enforced', async () => {
    const shadow = await created(t, ADMIN_KEY, { ...PAB_POLICY, name: 'pab-shadow', mode: 'shadow' });
    const [enforced, shadowed] = await Promise.all(
      [pab.id, shadow.id].map(async (id) => (await t.app.inject({ method: 'POST', url: `/v1/policies/${id}/preview`, headers: bearer(ADMIN_KEY), payload: { eras: [10] } })).json()),
    );
    expect(shadowed.policy.mode).toBe('shadow');
    expect(shadowed.eras).toEqual(enforced.eras);
  });

  it('refuses unknown, open or repeated eras and more than 50', async () => {
    const preview = (eras: unknown) => t.app.inject({ method: 'POST', url: `/v1/policies/${pab.id}/preview`, headers: bearer(ADMIN_KEY), payload: { eras } });
    expect(expectProblem(await preview([10, 99]), 404).detail).toMatch(/99/);
    expect(expectProblem(await preview([11]), 409).detail).toMatch(/era 11 has no universe yet/);
    const dup = expectProblem(await preview([10, 10]), 400);
    expect(JSON.stringify(dup.errors)).toMatch(/listed twice/);
    expectProblem(await preview([]), 400);
    expectProblem(await preview(Array.from({ length: 51 }, (_, i) => i + 100)), 400);
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/policies/00000000-0000-4000-8000-000000000000/preview', headers: bearer(ADMIN_KEY), payload: { eras: [10] } }), 404);
  });
});

describe('runs under a policy', () => {
  let t: TestApp;
  let authorKey: Key;
  let checker: Key;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    t = await createTestApp();
    authorKey = (await createAccount(t.app, 'author')).apiKey;
    checker = (await createAccount(t.app, 'admin')).apiKey;
  });
  afterAll(async () => t.close());

  async function referenceEraOpen(number: number) {
    const ref = referenceEra();
    await t.app.inject({
      method: 'POST',
      url: '/v1/eras',
      headers: bearer(ADMIN_KEY),
      payload: { number, minCoverage: 0.9, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() },
    });
    await putUniverseRows(t.app, number, ref.ids.map((id, i) => ({ id, sector: refEra.sectors[i], industry: null, country: null, tags: [], attributes: {} })));
    for (const [name, predictions] of Object.entries(ref.predictions)) {
      const model = await createModel(t.app, authorKey, `e${number}_${name}`, String(ref.stakes[name]));
      const ids = Object.keys(predictions);
      const res = await submitCsv(t.app, authorKey, model.id, number, predictionsCsv(ids, ids.map((id) => predictions[id])));
      if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
    }
    return ref;
  }

  it('serves the reference exclusion era: id00 and id02 excluded, the rest ranked over T to 1e-9', async () => {
    const policy = await created(t, ADMIN_KEY, {
      name: 'reference-exclusion',
      rules: [{ id: 'named', match: { field: 'id', op: 'in', value: ['id00', 'id02'] }, action: { type: 'exclude' } }],
    });
    await activated(t, checker, policy.id);
    const ref = await referenceEraOpen(1);
    const { exclusion } = refEra;

    const closed = await closeEra(t.app, 1);
    expect(closed.run).toMatchObject({ policy: { id: policy.id, name: 'reference-exclusion', version: 1 }, tradable: 10 });
    const served = await metaModel(t.app, 1);
    expect(served.run.policy).toEqual({ id: policy.id, name: 'reference-exclusion', version: 1 });
    const byId = new Map(served.rows.map((r) => [r.id, r]));
    for (const id of exclusion.excluded) expect(byId.get(id)).toMatchObject({ value: null, excludedBy: ['named'] });
    exclusion.tradable.forEach((id, k) => {
      expect(byId.get(id)!.value).toBeCloseTo(exclusion.value[k], 9);
      expect(byId.get(id)!.excludedBy).toEqual([]);
    });
    served.rows.forEach((row, i) => expect(row.unconstrained).toBeCloseTo(ref.unconstrained[i], 9));

    const csv = await t.app.inject({ method: 'GET', url: '/v1/eras/1/meta-model', headers: { ...bearer(ADMIN_KEY), accept: 'text/csv' } });
    expect(csv.body.trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(exclusion.tradable);

    const { rows } = await t.database.pool.query(`select policy_id, policy_report from meta_model_runs where id = $1`, [closed.run.id]);
    expect(rows[0].policy_id).toBe(policy.id);
    expect(rows[0].policy_report).toMatchObject({ mode: 'enforce', tradable: 10, excluded: 2, shadowResult: null, ruleCounts: [{ ruleId: 'named', matched: 2, excluded: 2 }] });
  });

  it('in shadow mode serves the unconstrained ranks and records what enforcing would have done', async () => {
    const policy = await created(t, ADMIN_KEY, {
      name: 'reference-shadow',
      mode: 'shadow',
      rules: [{ id: 'named', match: { field: 'id', op: 'in', value: ['id00', 'id02'] }, action: { type: 'exclude' } }],
    });
    await activated(t, checker, policy.id);
    const ref = await referenceEraOpen(2);
    const closed = await closeEra(t.app, 2);
    expect(closed.run).toMatchObject({ policy: { id: policy.id }, tradable: 12 });
    const served = await metaModel(t.app, 2);
    served.rows.forEach((row, i) => {
      expect(row.value).toBeCloseTo(ref.value[i], 9);
      expect(row.excludedBy).toEqual([]);
    });
    const { rows } = await t.database.pool.query(`select policy_report from meta_model_runs where id = $1`, [closed.run.id]);
    expect(rows[0].policy_report).toMatchObject({
      mode: 'shadow',
      tradable: 12,
      excluded: 0,
      ruleCounts: [{ ruleId: 'named', excluded: 2 }],
      shadowResult: { tradable: 10, excluded: 2, excludedBy: { '0': ['named'], '2': ['named'] } },
    });
    expect(rows[0].policy_report.shadowResult.spearman).toBeGreaterThan(0.8);
  });

  it('a recompute of an earlier era uses the version that was in force when it closed', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/eras/1/meta-model/compute', headers: bearer(ADMIN_KEY) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().policy.name).toBe('reference-exclusion');
  });
});

describe('done when: an admin writes a PAB-style policy, previews it, a second admin activates it, the next era obeys it', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  it('tells the whole story, and the audit log tells who did what', async () => {
    const maker = await createAccount(t.app, 'admin', 'maker');
    const checker = await createAccount(t.app, 'admin', 'checker');
    const operator = await createAccount(t.app, 'operator', 'ops');
    const author = await createAccount(t.app, 'author', 'quant');

    // A past era, closed before any policy existed.
    const past = policyUniverse(120, 'p_');
    await closedEraWithRun(t.app, 30, past, author.apiKey, operator.apiKey);

    // The maker writes the policy; a typo is refused with its path, the fix is accepted.
    const typo = structuredClone(PAB_POLICY);
    (typo.rules[1].match as { op: string }).op = 'has';
    const refused = expectProblem(await createPolicy(t, maker.apiKey, typo), 400);
    expect((refused.errors as { path: string }[]).map((e) => e.path)).toContain('rules[1].match.op');
    const policy = await created(t, maker.apiKey, PAB_POLICY);

    // Previews its cost on the past era.
    const preview = (await t.app.inject({ method: 'POST', url: `/v1/policies/${policy.id}/preview`, headers: bearer(maker.apiKey), payload: { eras: [30] } })).json();
    const expectedPast = past.filter((row) => pabExclusions(row).length > 0).length;
    expect(preview.eras[0]).toMatchObject({ era: 30, excluded: { count: expectedPast } });
    expect(preview.eras[0].spearman).toBeGreaterThan(0.5);

    // Cannot approve their own work; the checker does.
    expectProblem(await activate(t, maker.apiKey, policy.id), 403);
    await activated(t, checker.apiKey, policy.id, 'approved by the investment committee');
    expect((await t.app.inject({ method: 'GET', url: '/v1/policies/active' })).json()).toMatchObject({ id: policy.id, name: 'pab-core' });

    // The next era's meta-model excludes exactly the matching ids, naming the rules.
    const next = policyUniverse(150, 'n_');
    const closed = await closedEraWithRun(t.app, 31, next, author.apiKey, operator.apiKey);
    expect(closed.run.policy).toMatchObject({ id: policy.id, name: 'pab-core', version: 1 });
    const served = await metaModel(t.app, 31, operator.apiKey);
    next.forEach((row, i) => {
      const rules = pabExclusions(row);
      expect(served.rows[i].excludedBy, row.id).toEqual(rules);
      expect(served.rows[i].value === null, row.id).toBe(rules.length > 0);
    });
    const tradable = served.rows.filter((r) => r.value !== null);
    expect(tradable.length).toBe(next.filter((row) => pabExclusions(row).length === 0).length);
    expect(closed.run.tradable).toBe(tradable.length);
    // The past era's run is untouched.
    expect((await metaModel(t.app, 30, operator.apiKey)).rows.every((r) => r.value !== null)).toBe(true);

    // Who did what.
    const policyLog = (await t.app.inject({ method: 'GET', url: `/v1/audit-log?subject=policy:${policy.id}`, headers: bearer(maker.apiKey) })).json().entries;
    expect(policyLog.map((e: { action: string; actorId: string }) => [e.action, e.actorId])).toEqual([
      ['policy.activate', checker.id],
      ['policy.create', maker.id],
    ]);
    expect(policyLog[0].reason).toBe('approved by the investment committee');
    const eraLog = (await t.app.inject({ method: 'GET', url: '/v1/audit-log?subject=era:31', headers: bearer(checker.apiKey) })).json().entries;
    expect(eraLog.map((e: { action: string }) => e.action)).toEqual(['era.close', 'universe.replace', 'era.create']);
    expect(eraLog[0].actorId).toBe(operator.id);
  });
});
