import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { inject } from 'vitest';
import { connect } from '../../src/db/client.js';
import { MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { databaseUrl } from './urls.js';

/**
 * A database of its own migrated as a past release left it: every migration before `tag`.
 * `drop()` ends its pool, drops it and removes the cut migrations folder.
 */
export async function databaseBefore(tag: string, options: { prefix: string; poolSize?: number }) {
  const adminUrl = inject('databaseAdminUrl');
  const name = `${options.prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();

  const dir = await mkdtemp(path.join(tmpdir(), 'sw-migrations-'));
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  const journalPath = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === tag);
  if (cut < 0) throw new Error(`no migration ${tag} in the journal`);
  journal.entries = journal.entries.slice(0, cut);
  await writeFile(journalPath, JSON.stringify(journal));

  const url = databaseUrl(adminUrl, name);
  const handle = connect(url, { max: options.poolSize ?? 2 });
  const client = await handle.pool.connect();
  try {
    await migrate(drizzle(client), { migrationsFolder: dir });
  } finally {
    client.release();
  }
  return {
    ...handle,
    url,
    drop: async () => {
      await handle.pool.end();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists "${name}" with (force)`);
      await dropper.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Applies the named migrations alone to a database that recorded every migration, as an upgrade
 * from the release before the first of them would: their records and those after them are taken
 * out, the migrator runs with a journal cut after the first (plus the others named), and the
 * records of the migrations left out are put back as they were.
 */
export async function applyAlone(pool: pg.Pool, tags: readonly string[]): Promise<void> {
  const entries = JSON.parse(await readFile(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')).entries as { tag: string; when: number }[];
  const first = entries.findIndex((e) => e.tag === tags[0]);
  if (first < 0 || tags.some((tag) => !entries.some((e) => e.tag === tag))) throw new Error(`not every migration of ${tags.join(', ')} is in the journal`);
  const { when } = entries[first];
  const applied = entries.filter((e) => tags.includes(e.tag));
  const later = (await pool.query<{ hash: string; created_at: string }>(`delete from drizzle.__drizzle_migrations where created_at >= $1 returning hash, created_at`, [when])).rows;
  const dir = await mkdtemp(path.join(tmpdir(), 'sw-migrations-'));
  const client = await pool.connect();
  try {
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const journalPath = path.join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
    journal.entries = [...journal.entries.slice(0, first), ...applied];
    await writeFile(journalPath, JSON.stringify(journal));
    await migrate(drizzle(client), { migrationsFolder: dir });
  } finally {
    client.release();
    await rm(dir, { recursive: true, force: true });
  }
  for (const row of later.filter((r) => !applied.some((e) => e.when === Number(r.created_at)))) {
    await pool.query(`insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)`, [row.hash, row.created_at]);
  }
}
