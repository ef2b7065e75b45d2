import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnServer } from '../support/server-process.js';

const ADMIN = 'sw_e2e_bootstrap_admin_key_0123456789';
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

describe('the server process', () => {
  it('refuses to start on a bad environment value, naming the variable', async () => {
    const server = await spawnServer({ DATABASE_URL: database.url, PORT: 'not-a-port' }, { waitReady: false });
    expect(await server.exited).toBe(78);
    expect(server.output()).toContain('PORT');
  });

  it('serves, never logs the API key, and on SIGTERM finishes in-flight requests then exits 0', async () => {
    const server = await spawnServer({ DATABASE_URL: database.url, BOOTSTRAP_ADMIN_KEY: ADMIN });
    const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(me.status).toBe(200);
    const docs = await fetch(`${server.url}/docs/json`);
    expect(((await docs.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    const inFlight = Array.from({ length: 20 }, () => fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${ADMIN}` } }));
    await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((p) => p.then((r) => r.status).catch(() => 'refused')));
    // Every request the server accepted completed; none failed half-way with a 5xx.
    expect(statuses.filter((s) => typeof s === 'number' && s >= 500 && s !== 503)).toEqual([]);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('stopped');
    expect(server.output()).not.toContain(ADMIN);
  });

  it('without DATABASE_URL runs an embedded PostgreSQL whose data survives a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'stakeweight-e2e-'));
    try {
      const first = await spawnServer({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_KEY: ADMIN }, { timeoutMs: 90_000 });
      const created = await fetch(`${first.url}/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'persisted', role: 'author' }),
      });
      const { apiKey } = (await created.json()) as { apiKey: string };
      expect(await first.stop()).toBe(0);

      const second = await spawnServer({ DATA_DIR: dataDir }, { timeoutMs: 90_000 });
      const me = await fetch(`${second.url}/v1/me`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(await me.json()).toMatchObject({ name: 'persisted', role: 'author' });
      expect((await fetch(`${second.url}/docs/`)).status).toBe(200);
      expect(await second.stop()).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
