import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { connect } from '../../src/db/client.js';
import { migrateDatabase, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { loadConfig } from '../../src/config.js';
import { hashSecret } from '../../src/services/accounts.js';
import { auditService } from '../../src/services/audit.js';
import { bundlesService } from '../../src/services/bundles.js';
import { erasService } from '../../src/services/eras.js';
import { verifyService } from '../../src/services/verify.js';
import { bearer } from '../support/app.js';
import { smokeCheck } from '../support/smoke.js';
import { databaseUrl } from '../support/urls.js';

/*
 * Migrations that have landed never change: each file's sha256 is pinned in
 * tests/fixtures/migration-checksums.json (a new migration adds its line there when it lands).
 * And a database left at any earlier migration upgrades to the head and serves a whole round.
 */

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: JournalEntry[] };
const PINS_FILE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/migration-checksums.json');
const adminUrl = inject('databaseAdminUrl');
const created: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

const sha256 = async (file: string) => createHash('sha256').update(await readFile(path.join(MIGRATIONS_DIR, file))).digest('hex');

describe('landed migrations', () => {
  it('are every one pinned, and none has changed since', async () => {
    const pins = JSON.parse(await readFile(PINS_FILE, 'utf8')) as Record<string, string>;
    expect(Object.keys(pins)).toEqual(expect.arrayContaining(['0000_initial.sql', '0001_guards.sql', '0002_store_submission.sql', '0003_key_check_raw_encoding.sql']));
    const actual: Record<string, string> = {};
    for (const entry of journal.entries) actual[`${entry.tag}.sql`] = await sha256(`${entry.tag}.sql`);
    // A difference names the file: a changed one must go back as it was (fix forward in a new
    // migration); a new one gets its line, with the sha256 shown here, in the pins file.
    expect(actual).toEqual(pins);
  });

  it('are applied in the order of their journal, each after the one before', () => {
    const whens = journal.entries.map((e) => e.when);
    expect(whens).toEqual([...whens].sort((a, b) => a - b));
    expect(new Set(journal.entries.map((e) => e.idx)).size).toBe(journal.entries.length);
  });
});

/** A migrations folder holding the first `count` migrations only (and any `extra`), as a past release shipped it. */
async function pastRelease(count: number, extra: { entry: JournalEntry; file: string }[] = []): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stakeweight-migrations-'));
  await mkdir(path.join(dir, 'meta'));
  const entries = journal.entries.slice(0, count);
  for (const entry of entries) await copyFile(path.join(MIGRATIONS_DIR, `${entry.tag}.sql`), path.join(dir, `${entry.tag}.sql`));
  for (const { entry, file } of extra) await copyFile(file, path.join(dir, `${entry.tag}.sql`));
  await writeFile(path.join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: [...entries, ...extra.map((e) => ({ ...e.entry, version: '7', breakpoints: true }))] }));
  return dir;
}

async function emptyDatabase() {
  const name = `sw_upgrade_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  created.push(name);
  const url = databaseUrl(adminUrl, name);
  return { url, handle: connect(url, { max: 4 }) };
}

/** Upgrades a database `folder` migrated to the head; its pre-upgrade admin key must work and a whole round must pass. */
async function upgradeAndSmoke(url: string, handle: ReturnType<typeof connect>, folder: string) {
  await migrate(drizzle(handle.pool), { migrationsFolder: folder });
  // An admin key issued by that release (accounts and api_keys exist since 0000).
  const secret = `sw_pre_upgrade_${randomBytes(12).toString('hex')}`;
  const { rows } = await handle.pool.query<{ id: string }>(`insert into accounts (name, role) values ('pre-upgrade', 'admin') returning id`);
  await handle.pool.query(`insert into api_keys (account_id, secret_hash, hint) values ($1, $2, 'sw_pre')`, [rows[0].id, hashSecret(secret)]);
  const chained = await legacyAuditEntry(handle.pool, rows[0].id);

  await migrateDatabase(handle.pool);
  const functions = await handle.pool.query(`select 1 from pg_proc where proname = 'store_submission'`);
  expect(functions.rowCount).toBe(1);

  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const app = await buildApp({ config, db: handle.db, pool: handle.pool, logger: false });
  try {
    expect((await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(secret) })).json()).toMatchObject({ name: 'pre-upgrade', role: 'admin' });
    await smokeCheck(app, secret);
    // Entries chained by that release still verify, followed by the ones written since.
    const audit = auditService(handle.db);
    const eras = erasService(handle.db, audit, config);
    const report = await verifyService({ db: handle.db, eras, bundles: bundlesService({ db: handle.db, eras }) }).verify();
    expect(report.audit.break).toBeNull();
    expect(report.audit.checked).toBeGreaterThan(chained ? 1 : 0);
    expect(report.audit.unchained).toBe(chained ? 0 : 1);
  } finally {
    await app.close();
  }
}

/**
 * An audit entry as the release left it: chained (from 0007) with the digest that release computed,
 * over id, at, actorId, action, subject, reason and details; before 0007, with no digest at all.
 * Returns whether it is chained.
 */
async function legacyAuditEntry(pool: pg.Pool, actorId: string): Promise<boolean> {
  const at = '2026-01-02T03:04:05.123456Z';
  const content = { action: 'key.create', subject: `account:${actorId}`, reason: null, details: { keyId: actorId, note: 'before names' } };
  const { rows } = await pool.query<{ id: string }>(
    `insert into audit_log (at, actor_id, action, subject, reason, details) values ($1, $2, $3, $4, $5, $6) returning id`,
    [at, actorId, content.action, content.subject, content.reason, content.details],
  );
  const columns = await pool.query(`select 1 from information_schema.columns where table_name = 'audit_log' and column_name = 'digest'`);
  if (columns.rowCount === 0) return false;
  const text = JSON.stringify({ action: content.action, actorId, at, details: { keyId: actorId, note: 'before names' }, id: Number(rows[0].id), reason: null, subject: content.subject });
  const digest = createHash('sha256').update(text).digest('hex');
  const chain = createHash('sha256').update('0'.repeat(64) + digest).digest('hex');
  await pool.query('alter table audit_log disable trigger audit_log_append_only');
  await pool.query('update audit_log set digest = $2, chain_digest = $3 where id = $1', [rows[0].id, digest, chain]);
  await pool.query('alter table audit_log enable trigger audit_log_append_only');
  return true;
}

describe('a database at an earlier migration', () => {
  for (let count = 1; count < journal.entries.length; count++) {
    const at = journal.entries[count - 1].tag;
    it(`upgrades from ${at} to the head, keeps its keys working and serves a whole round`, async () => {
      const { url, handle } = await emptyDatabase();
      const folder = await pastRelease(count);
      try {
        await upgradeAndSmoke(url, handle, folder);
        const applied = await handle.pool.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
        expect(applied.rows[0].n).toBe(journal.entries.length);
      } finally {
        await handle.pool.end();
        await rm(folder, { recursive: true, force: true });
      }
    });
  }

  it('upgrades from the first release of 0003, which shipped as two migrations (kept in tests/fixtures/migrations-interim)', async () => {
    const { url, handle } = await emptyDatabase();
    const interim = path.resolve(path.dirname(PINS_FILE), 'migrations-interim');
    const folder = await pastRelease(3, [
      { entry: { idx: 3, when: 1795555582826, tag: '0003_key_checked_write' }, file: path.join(interim, '0003_key_checked_write.sql') },
      { entry: { idx: 4, when: 1795556462865, tag: '0004_raw_encoding' }, file: path.join(interim, '0004_raw_encoding.sql') },
    ]);
    try {
      await upgradeAndSmoke(url, handle, folder);
    } finally {
      await handle.pool.end();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
