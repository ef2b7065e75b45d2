import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { encodeFloat64 } from '../../src/domain/packed.js';
import { encodeRankCodes, rankCodes } from '../../src/domain/prepared.js';
import { rng } from './fixtures.js';

export interface HttpReply<T = unknown> {
  status: number;
  type: string;
  text: string;
  json: T;
}

/** One request to a spawned server; `body` strings go as text/csv unless a type is given. */
export async function call<T = unknown>(base: string, method: string, path: string, key?: string, body?: unknown, type?: string): Promise<HttpReply<T>> {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (body !== undefined) headers['content-type'] = type ?? (typeof body === 'string' ? 'text/csv' : 'application/json');
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (CSV, HTML)
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: json as T };
}

/** `call`, failing on anything but 2xx. */
export async function ok<T = unknown>(base: string, method: string, path: string, key?: string, body?: unknown, type?: string): Promise<T> {
  const res = await call<T>(base, method, path, key, body, type);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 400)}`);
  return res.json;
}

/** Polls until `probe` returns something truthy; bounded in time, so a broken service fails the test instead of hanging it. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
  describe?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}${describe ? `\n${await describe()}` : ''}`);
}

/** A universe CSV of `n` ids over eight sectors. */
export function universeBody(ids: readonly string[]): string {
  return `id,sector,industry,country,tags\n${ids.map((id, i) => `${id},${10 + (i % 8) * 5},,US,`).join('\n')}\n`;
}

/** Distinct, non-constant predictions: the first value encodes `tag`, so each body has its own digest. */
export function uniquePredictions(ids: readonly string[], tag: number, seed = 1): string {
  const random = rng(seed);
  const rest = ids.slice(1).map((id) => `${id},${Math.round(random() * 1e6) / 1e6}`);
  return `id,prediction\n${ids[0]},0.5${String(tag).padStart(9, '0')}\n${rest.join('\n')}\n`;
}

/**
 * Seeds `count` staked models with on-time submissions for `era` straight into the database,
 * prepared as ingest prepares them, so a close has real work without thousands of HTTP calls.
 */
export async function seedModels(pool: pg.Pool, era: number, ids: readonly string[], count: number, seed = 1): Promise<string[]> {
  const random = rng(seed);
  const vectors = Array.from({ length: 16 }, () => {
    const values = Float64Array.from(ids, () => random());
    const { codes, covered } = rankCodes(values);
    return { raw: encodeFloat64(values), ranks: encodeRankCodes(codes), covered };
  });
  const { rows } = await pool.query<{ id: string }>(`insert into accounts (name, role) values ($1, 'author') returning id`, [`seed-${era}-${seed}`]);
  const modelIds: string[] = [];
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, () => randomUUID());
    await pool.query(`insert into models (id, name, account_id) select unnest($1::uuid[]), unnest($2::text[]), $3`, [
      batch,
      batch.map((_, j) => `seed_${era}_${seed}_${start + j}`),
      rows[0].id,
    ]);
    await pool.query(
      `insert into stake_entries (model_id, seq, kind, delta, amount, balance, at)
       select m, 1, 'deposit', v, v, v, now() - interval '1 minute' from unnest($1::uuid[], $2::numeric[]) as u(m, v)`,
      [batch, batch.map((_, j) => String(1 + ((start + j) % 97)))],
    );
    const params: unknown[] = [];
    const tuples = batch.map((modelId, j) => {
      const v = vectors[(start + j) % vectors.length];
      params.push(modelId, `seed-${era}-${seed}-${start + j}`, v.covered, v.raw, v.ranks);
      const p = params.length;
      return `(${era}, $${p - 4}, $${p - 3}, ${ids.length}, $${p - 2}, false, $${p - 1}, $${p})`;
    });
    await pool.query(`insert into submissions (era_number, model_id, sha256, rows, covered, late, raw, ranks) values ${tuples.join(',')}`, params);
    modelIds.push(...batch);
  }
  return modelIds;
}

/** A pool for the test's own queries, named so it is never mistaken for the service's connections. */
export function probePool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'stakeweight-e2e-probe' });
  pool.on('error', () => {});
  return pool;
}
