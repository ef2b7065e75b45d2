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
async function upgradeAndSmoke(url: string, handle: ReturnType<typeof connect>, folder: string, release: { hasFourEyes: boolean } = { hasFourEyes: false }) {
  await migrate(drizzle(handle.pool), { migrationsFolder: folder });
  // An admin key issued by that release (accounts and api_keys exist since 0000).
  const secret = `sw_pre_upgrade_${randomBytes(12).toString('hex')}`;
  const { rows } = await handle.pool.query<{ id: string }>(`insert into accounts (name, role) values ('pre-upgrade', 'admin') returning id`);
  await handle.pool.query(`insert into api_keys (account_id, secret_hash, hint) values ($1, $2, 'sw_pre')`, [rows[0].id, hashSecret(secret)]);
  const legacy = await legacyHistory(handle.pool, rows[0].id);

  await migrateDatabase(handle.pool);
  const functions = await handle.pool.query(`select 1 from pg_proc where proname = 'store_submission'`);
  expect(functions.rowCount).toBe(1);

  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const app = await buildApp({ config, db: handle.db, logger: false });
  try {
    expect((await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(secret) })).json()).toMatchObject({ name: 'pre-upgrade', role: 'admin' });
    await smokeCheck(app, secret);
    // Entries chained by that release still verify, followed by the ones written since.
    const audit = auditService(handle.db);
    const eras = erasService({ db: handle.db, audit, config });
    const report = await verifyService({ db: handle.db, eras, bundles: bundlesService({ db: handle.db, eras }) }).verify();
    expect(report.audit.break).toBeNull();
    expect(report.audit.checked).toBeGreaterThan(legacy.chained ? 2 : 0);
    expect(report.audit.unchained).toBe(legacy.chained ? 0 : 2);
    // The admin made over HTTP waits for a second admin; the key minted for another admin is revoked
    // (by the upgrade to four-eyes between people: a release that has it never wrote such a history).
    if (release.hasFourEyes) return;
    const second = await handle.pool.query('select status, created_by from accounts where id = $1', [legacy.secondAdmin]);
    expect(second.rows[0]).toEqual({ status: 'pending', created_by: rows[0].id });
    const minted = await handle.pool.query('select revoked_at from api_keys where id = $1', [legacy.mintedKey]);
    expect(minted.rows[0].revoked_at).not.toBeNull();
  } finally {
    await app.close();
  }
}

/**
 * What an earlier release let through, as its audit log recorded it: a second admin made over
 * HTTP by the pre-upgrade admin, and a key that second admin minted for the pre-upgrade admin's
 * account. From 0007 the entries are chained with the digest that release computed (over id, at,
 * actorId, action, subject, reason and details); before, they carry none.
 */
async function legacyHistory(pool: pg.Pool, adminId: string) {
  const { rows: [second] } = await pool.query<{ id: string }>(`insert into accounts (name, role) values ('made-over-http', 'admin') returning id`);
  const { rows: [minted] } = await pool.query<{ id: string }>(
    `insert into api_keys (account_id, secret_hash, hint) values ($1, $2, 'sw_min') returning id`,
    [adminId, hashSecret(`sw_minted_${randomBytes(12).toString('hex')}`)],
  );
  const columns = await pool.query(`select 1 from information_schema.columns where table_name = 'audit_log' and column_name = 'digest'`);
  const chained = columns.rowCount === 1;
  let previous = '0'.repeat(64);
  const entries = [
    { actorId: adminId, action: 'account.create', subject: `account:${second.id}`, details: { name: 'made-over-http', role: 'admin' } },
    { actorId: second.id, action: 'key.create', subject: `account:${adminId}`, details: { keyId: minted.id } },
  ];
  for (const [i, entry] of entries.entries()) {
    const at = `2026-01-02T03:04:0${i}.123456Z`;
    const { rows } = await pool.query<{ id: string }>(
      'insert into audit_log (at, actor_id, action, subject, reason, details) values ($1, $2, $3, $4, null, $5) returning id',
      [at, entry.actorId, entry.action, entry.subject, entry.details],
    );
    if (!chained) continue;
    // RFC 8785 order: keys sorted (these values need no other canonicalisation).
    const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
    const text = JSON.stringify(sorted({ action: entry.action, actorId: entry.actorId, at, details: sorted(entry.details), id: Number(rows[0].id), reason: null, subject: entry.subject }));
    const digest = createHash('sha256').update(text).digest('hex');
    previous = createHash('sha256').update(previous + digest).digest('hex');
    await pool.query('alter table audit_log disable trigger audit_log_append_only');
    await pool.query('update audit_log set digest = $2, chain_digest = $3 where id = $1', [rows[0].id, digest, previous]);
    await pool.query('alter table audit_log enable trigger audit_log_append_only');
  }
  return { chained, secondAdmin: second.id, mintedKey: minted.id };
}

describe('a database at an earlier migration', () => {
  for (let count = 1; count < journal.entries.length; count++) {
    const at = journal.entries[count - 1].tag;
    it(`upgrades from ${at} to the head, keeps its keys working and serves a whole round`, async () => {
      const { url, handle } = await emptyDatabase();
      const folder = await pastRelease(count);
      try {
        await upgradeAndSmoke(url, handle, folder, { hasFourEyes: journal.entries.slice(0, count).some((e) => e.tag === '0012_four_eyes_accounts') });
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
