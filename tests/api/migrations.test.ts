import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
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
