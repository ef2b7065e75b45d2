import type { FastifyInstance } from 'fastify';
import { ADMIN_KEY, bearer } from './app.js';

export { rng } from './rng.js';

export const liveIds = (n: number, prefix = 'id') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);

export function predictionsCsv(ids: string[], values: number[], header = 'id,prediction') {
  return `${header}\n${ids.map((id, i) => `${id},${values[i]}`).join('\n')}\n`;
}

const SECTORS = ['10', '15', '20', '25', '30', '35', '40', '45'];

/** A universe CSV with sectors, industries, tags and one numeric attribute. */
export function universeCsv(ids: string[]) {
  const lines = ids.map((id, i) => {
    const sector = SECTORS[i % SECTORS.length];
    const tags = i % 17 === 0 ? 'tobacco' : i % 23 === 0 ? 'controversial_weapons;defense' : '';
    return `${id},${sector},${sector}1010,US,${tags},${((i % 50) / 1000).toFixed(3)}`;
  });
  return `id,sector,industry,country,tags,thermal_coal_revenue_share\n${lines.join('\n')}\n`;
}

export async function createEra(
  app: FastifyInstance,
  body: { number: number; closesAt?: string; opensAt?: string; [k: string]: unknown },
  key = ADMIN_KEY,
) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/eras',
    headers: bearer(key),
    payload: { closesAt: new Date(Date.now() + 3_600_000).toISOString(), ...body },
  });
  if (res.statusCode !== 201) throw new Error(`era: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function putUniverse(app: FastifyInstance, era: number, ids: string[], key = ADMIN_KEY) {
  const res = await app.inject({
    method: 'PUT',
    url: `/v1/eras/${era}/universe`,
    headers: { ...bearer(key), 'content-type': 'text/csv' },
    payload: universeCsv(ids),
  });
  if (res.statusCode !== 200) throw new Error(`universe: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function createModel(app: FastifyInstance, authorKey: string, name: string, stake?: string) {
  const res = await app.inject({ method: 'POST', url: '/v1/models', headers: bearer(authorKey), payload: { name } });
  if (res.statusCode !== 201) throw new Error(`model: ${res.statusCode} ${res.body}`);
  const model = res.json<{ id: string; name: string; accountId: string }>();
  if (stake !== undefined) {
    const s = await app.inject({ method: 'PUT', url: `/v1/models/${model.id}/stake`, headers: bearer(authorKey), payload: { amount: stake } });
    if (s.statusCode !== 200) throw new Error(`stake: ${s.statusCode} ${s.body}`);
  }
  return model;
}

export async function submitCsv(app: FastifyInstance, authorKey: string, modelId: string, era: number, csv: string) {
  return app.inject({
    method: 'POST',
    url: `/v1/models/${modelId}/submissions?era=${era}`,
    headers: { ...bearer(authorKey), 'content-type': 'text/csv' },
    payload: csv,
  });
}
