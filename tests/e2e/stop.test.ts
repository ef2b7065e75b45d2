import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/server-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ProcessInfo {
  pid: number;
  ppid: number;
  args: string;
}

/** Every process on this host, read from /proc (the test runs where `npm start` does: Linux). */
function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), ppid, args });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The processes descending from `root`, found while they run. */
function descendants(root: number): ProcessInfo[] {
  const all = processes();
  const family = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!family.has(p.pid) && family.has(p.ppid)) {
        family.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => family.has(p.pid) && p.pid !== root);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let scratch: string;
const leftovers = new Set<number>();
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'stakeweight-stop-'));
  // Searchable, like an ordinary checkout: the cluster stays in DATA_DIR, where the test can see it.
  await chmod(scratch, 0o755);
});
afterAll(async () => {
  // Whatever a failed run left behind: only the processes this test started.
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await rm(scratch, { recursive: true, force: true });
});

/** `npm start` as a user runs it: embedded PostgreSQL, DATABASE_URL unset; then SIGTERM to that PID. */
async function startAndStop(dataDir: string) {
  const port = String(await freePort());
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1' };
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.on('data', (d) => (output += d));
  npm.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  await waitFor(`http://127.0.0.1:${port}/readyz`, 90_000, exited, () => output);

  const started = descendants(npm.pid!);
  for (const p of started) leftovers.add(p.pid);
  // What it started: the server and the cluster in this data directory.
  expect(started.some((p) => p.args.includes('src/server.ts'))).toBe(true);
  expect(started.some((p) => /\bpostgres\b/.test(p.args) && p.args.includes(dataDir))).toBe(true);

  npm.kill('SIGTERM');
  await exited;
  // The server closes the pool and stops the cluster before it exits; allow the exit to be reaped.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && started.some((p) => alive(p.pid))) await new Promise((r) => setTimeout(r, 100));
  expect(started.filter((p) => alive(p.pid)).map((p) => p.args)).toEqual([]);
  expect(processes().filter((p) => p.args.includes(dataDir)).map((p) => p.args)).toEqual([]);
  expect(output).toContain('stopped');
}

describe('npm start, stopped with SIGTERM', () => {
  it('stops the server and its embedded PostgreSQL, on a fresh data directory and again on the existing one', async () => {
    const dataDir = path.join(scratch, 'data');
    await startAndStop(dataDir);
    await startAndStop(dataDir);
  });
});
