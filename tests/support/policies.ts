import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { UniverseRow } from '../../src/domain/universe.js';
import { ADMIN_KEY, bearer, createAccount } from './app.js';
import { createModel, rng, submitCsv, predictionsCsv } from './fixtures.js';
import { closeEra } from './metamodel.js';
import { reference } from './reference.js';

/** A universe row as the JSON universe body carries it. */
export type UniverseJsonRow = UniverseRow;

/** The reference exclusion policy: PAB-style product exclusions, sector neutral. */
export const PAB_POLICY = {
  name: 'pab-core',
  description: 'EU PAB Art. 12 style product exclusions, sector neutral',
  mode: 'enforce',
  onMissingData: 'ignore',
  rules: [
    {
      id: 'tobacco',
      description: 'GICS 302030 or tobacco tag',
      match: { any: [{ field: 'industry', op: 'prefix', value: '302030' }, { field: 'tags', op: 'contains', value: 'tobacco' }] },
      action: { type: 'exclude' },
    },
    { id: 'controversial-weapons', match: { field: 'tags', op: 'contains', value: 'controversial_weapons' }, action: { type: 'exclude' } },
    { id: 'thermal-coal', match: { field: 'attributes.thermal_coal_revenue_share', op: 'gte', value: 0.01 }, action: { type: 'exclude' } },
    { id: 'defense-watch', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
  ],
  neutralize: { by: 'sector', proportion: 1 },
};

const SECTORS = ['10', '15', '20', '25', '30', '35', '40', '45'];

/**
 * A universe whose rule matches are known by construction: 302030 industries, tobacco and
 * weapons tags, coal shares above and below 1 %, and ids with no coal figure at all.
 */
export function policyUniverse(n: number, prefix: string): UniverseJsonRow[] {
  return Array.from({ length: n }, (_, i) => {
    const sector = SECTORS[i % SECTORS.length];
    const tags = [...(i % 13 === 0 ? ['tobacco'] : []), ...(i % 23 === 0 ? ['controversial_weapons', 'defense'] : []), ...(i % 29 === 5 ? ['defense'] : [])];
    const attributes: Record<string, number> = i % 11 === 3 ? {} : { thermal_coal_revenue_share: i % 7 === 2 ? 0.02 + (i % 5) / 100 : (i % 3) / 1000 };
    return { id: `${prefix}${String(i).padStart(4, '0')}`, sector, industry: i % 19 === 4 ? '302030' : `${sector}1010`, country: 'US', tags, attributes };
  });
}

/** Which PAB rules exclude each row, by hand from the construction above. */
export function pabExclusions(row: UniverseJsonRow): string[] {
  const rules: string[] = [];
  if (row.industry?.startsWith('302030') || row.tags.includes('tobacco')) rules.push('tobacco');
  if (row.tags.includes('controversial_weapons')) rules.push('controversial-weapons');
  const coal = row.attributes.thermal_coal_revenue_share;
  if (typeof coal === 'number' && coal >= 0.01) rules.push('thermal-coal');
  return rules;
}

export async function putUniverseRows(app: FastifyInstance, era: number, rows: UniverseJsonRow[], key = ADMIN_KEY) {
  const res = await app.inject({ method: 'PUT', url: `/v1/eras/${era}/universe`, headers: bearer(key), payload: { rows } });
  if (res.statusCode !== 200) throw new Error(`universe: ${res.statusCode} ${res.body}`);
}

const HOUR = 3_600_000;

/** An open era with a universe, three staked models' submissions, closed by `closerKey`. */
export async function closedEraWithRun(app: FastifyInstance, era: number, rows: UniverseJsonRow[], authorKey: string, closerKey = ADMIN_KEY) {
  const created = await app.inject({
    method: 'POST',
    url: '/v1/eras',
    headers: bearer(ADMIN_KEY),
    payload: { number: era, opensAt: new Date(Date.now() - HOUR).toISOString(), closesAt: new Date(Date.now() + HOUR).toISOString() },
  });
  if (created.statusCode !== 201) throw new Error(`era: ${created.statusCode} ${created.body}`);
  await putUniverseRows(app, era, rows);
  const random = rng(era);
  const ids = rows.map((r) => r.id);
  for (const [k, stake] of ['100', '40', '7.5'].entries()) {
    const model = await createModel(app, authorKey, `m${era}_${k}`, stake);
    const res = await submitCsv(app, authorKey, model.id, era, predictionsCsv(ids, ids.map(() => Math.round(random() * 1e6) / 1e6)));
    if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
  }
  return closeEra(app, era, closerKey);
}

/*
 * Independent statements of the preview numbers, on plain arrays with undefined for "no value".
 */

export function plainMean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function plainPearson(a: number[], b: number[]): number {
  const ma = plainMean(a);
  const mb = plainMean(b);
  let cross = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    cross += (a[i] - ma) * (b[i] - mb);
    sa += (a[i] - ma) ** 2;
    sb += (b[i] - mb) ** 2;
  }
  return cross / Math.sqrt(sa * sb);
}

/** Net sector exposure of the book w_i = (x_i − x̄) / Σ|x_j − x̄| over the ids with a value. */
export function plainSectorExposure(values: (number | undefined)[], sectors: string[]): Map<string, number> {
  const present = values.filter((v): v is number => v !== undefined);
  const mean = plainMean(present);
  const gross = present.reduce((acc, v) => acc + Math.abs(v - mean), 0);
  const out = new Map<string, number>();
  values.forEach((v, i) => {
    if (v !== undefined) out.set(sectors[i], (out.get(sectors[i]) ?? 0) + (v - mean) / gross);
  });
  return out;
}

export function plainTurnover(a: Map<string, number>, b: Map<string, number>): number {
  const sectors = new Set([...a.keys(), ...b.keys()]);
  let sum = 0;
  for (const s of sectors) sum += Math.abs((a.get(s) ?? 0) - (b.get(s) ?? 0));
  return sum / 2;
}

/**
 * Creates the reference case's exclusion policy (its excluded ids) and has a second admin
 * activate it, as four-eyes requires; returns the policy's id.
 */
export async function activateReferenceExclusion(app: FastifyInstance, reason: string): Promise<string> {
  const policy = await app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(ADMIN_KEY),
    payload: {
      name: 'reference-exclusion',
      rules: [{ id: 'excluded', match: { field: 'id', op: 'in', value: reference.era.exclusion.excluded }, action: { type: 'exclude' } }],
    },
  });
  expect(policy.statusCode, policy.body).toBe(201);
  const checker = (await createAccount(app, 'admin')).apiKey;
  const activated = await app.inject({ method: 'POST', url: `/v1/policies/${policy.json().id}/activate`, headers: bearer(checker), payload: { reason } });
  expect(activated.statusCode, activated.body).toBe(200);
  return policy.json().id as string;
}
