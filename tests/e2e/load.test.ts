import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());

/** `npm run load` as a user runs it: its own server process on DATABASE_URL, then its own checks. */
function runLoadScript(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Bounded: the script's own loops are, and this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a submission burst at close time (npm run load)', () => {
  it('stores every acknowledged submission once, answers no 5xx, and the close takes each model’s last on-time one', async () => {
    const { code, stdout, stderr } = await runLoadScript(['--seconds', '5', '--concurrency', '100', '--ids', '500', '--json'], { DATABASE_URL: database.url });
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      requests: number;
      acknowledged: number;
      stored: number;
      statuses: Record<string, number>;
      closingRunModels: number;
      violations: number;
    };
    expect(summary.violations).toBe(0);
    expect(summary.acknowledged).toBeGreaterThan(0);
    expect(summary.stored).toBe(summary.acknowledged);
    expect(Object.keys(summary.statuses).filter((s) => Number(s) >= 500 || Number(s) === 0)).toEqual([]);

    // The script's checks went through the API; the database agrees with them.
    const { rows } = await database.pool.query<{ n: number; digests: number; current: number }>(
      `select count(*)::int as n, count(distinct (model_id, sha256))::int as digests,
              max(c)::int as current
       from submissions, lateral (select count(*) as c from submissions s2
                                  where s2.model_id = submissions.model_id and s2.era_number = submissions.era_number
                                    and s2.late = submissions.late and not s2.superseded) cur`,
    );
    expect(rows[0].n).toBe(summary.stored);
    expect(rows[0].digests).toBe(rows[0].n);
    expect(rows[0].current).toBe(1);
  });
});
