import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { MIGRATIONS_DIR, migrateDatabase } from '../../src/db/migrate.js';
import { createTestDatabase } from '../support/database.js';
import { databaseUrl } from '../support/urls.js';

const adminUrl = inject('databaseAdminUrl');
const created: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe('migrations', () => {
  it('applying them again is a no-op', async () => {
    const database = await createTestDatabase();
    const before = await database.pool.query('select hash, created_at from drizzle.__drizzle_migrations order by id');
    expect(before.rowCount).toBeGreaterThan(0);
    await migrateDatabase(database.pool);
    const after = await database.pool.query('select hash, created_at from drizzle.__drizzle_migrations order by id');
    expect(after.rows).toEqual(before.rows);
    await database.drop();
  });

  it('replicas migrating an empty database at once apply each migration exactly once', async () => {
    const name = `sw_empty_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    created.push(name);
    const replicas = Array.from({ length: 4 }, () => connect(databaseUrl(adminUrl, name), { max: 2 }));
    await Promise.all(replicas.map((r) => migrateDatabase(r.pool)));
    const { rows } = await replicas[0].pool.query<{ hash: string }>('select hash from drizzle.__drizzle_migrations');
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
    const tables = await replicas[0].pool.query(`select count(*)::int as n from pg_tables where schemaname = 'public'`);
    expect(tables.rows[0].n).toBeGreaterThanOrEqual(13);
    await Promise.all(replicas.map((r) => r.pool.end()));
  });

  it('leave one store_submission, the one that takes the caller\'s key and checks it', async () => {
    const database = await createTestDatabase();
    const { rows } = await database.pool.query<{ args: string }>(
      `select pg_get_function_identity_arguments(oid) as args from pg_proc where proname = 'store_submission'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].args).toMatch(/^p_key uuid, p_era integer/);
    await database.drop();
  });

  it('0006 moves the activations recorded so far into policy_activations, each from the first era not yet past its cutoff', async () => {
    const name = `sw_upgrade_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    created.push(name);
    const client = new pg.Client({ connectionString: databaseUrl(adminUrl, name) });
    await client.connect();
    const apply = async (tag: string) => {
      const text = await readFile(path.join(MIGRATIONS_DIR, `${tag}.sql`), 'utf8');
      for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) await client.query(statement);
    };
    try {
      for (const tag of ['0000_initial', '0001_guards', '0002_store_submission', '0003_key_check_raw_encoding']) await apply(tag);
      // Before: era 1 closed at 10:00, era 2 due at 12:00; v1 activated at 09:00 (every era from 0), v2 at 11:00 (from era 2, era 1 had closed).
      await client.query(`insert into accounts (id, name, role) values ('00000000-0000-4000-8000-000000000001', 'a', 'admin')`);
      await client.query(`insert into eras (number, opens_at, closes_at, main_target, closed_at) values
        (1, '2026-01-01T00:00Z', '2026-01-01T10:00Z', 'target', '2026-01-01T10:00Z'), (2, '2026-01-01T00:00Z', '2026-01-01T12:00Z', 'target', null)`);
      await client.query(`insert into policies (id, name, version, document, status, author_id, activated_at, activated_by) values
        ('00000000-0000-4000-8000-0000000000a1', 'p', 1, '{"name":"p","rules":[]}', 'retired', '00000000-0000-4000-8000-000000000001', '2026-01-01T09:00Z', '00000000-0000-4000-8000-000000000001'),
        ('00000000-0000-4000-8000-0000000000a2', 'p', 2, '{"name":"p","rules":[]}', 'active', '00000000-0000-4000-8000-000000000001', '2026-01-01T11:00Z', '00000000-0000-4000-8000-000000000001')`);
      await client.query(`insert into audit_log (at, actor_id, action, subject, reason) values
        ('2026-01-01T09:00Z', '00000000-0000-4000-8000-000000000001', 'policy.activate', 'policy:00000000-0000-4000-8000-0000000000a1', 'first'),
        ('2026-01-01T11:00Z', '00000000-0000-4000-8000-000000000001', 'policy.activate', 'policy:00000000-0000-4000-8000-0000000000a2', 'second')`);
      await apply('0006_policy_activations_reports');
      const { rows } = await client.query('select policy_id, from_era, scheduled, reason from policy_activations order by id');
      expect(rows).toEqual([
        { policy_id: '00000000-0000-4000-8000-0000000000a1', from_era: 0, scheduled: false, reason: 'first' },
        { policy_id: '00000000-0000-4000-8000-0000000000a2', from_era: 2, scheduled: false, reason: 'second' },
      ]);
      const columns = await client.query(`select column_name from information_schema.columns where table_name = 'policies' order by column_name`);
      expect(columns.rows.map((r) => r.column_name)).toEqual(['author_id', 'created_at', 'document', 'id', 'name', 'version']);
    } finally {
      await client.end();
    }
  });

  it('the audit log refuses UPDATE, DELETE and TRUNCATE', async () => {
    const database = await createTestDatabase();
    await database.pool.query(`insert into audit_log (action, subject) values ('test', 'x')`);
    await expect(database.pool.query(`update audit_log set action = 'changed'`)).rejects.toThrow(/append-only/);
    await expect(database.pool.query(`delete from audit_log`)).rejects.toThrow(/append-only/);
    await expect(database.pool.query(`truncate audit_log`)).rejects.toThrow(/append-only/);
    const { rows } = await database.pool.query('select action from audit_log');
    expect(rows).toEqual([{ action: 'test' }]);
    await database.drop();
  });
});
