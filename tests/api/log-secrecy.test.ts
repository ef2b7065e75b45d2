import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts } from '../../src/db/schema.js';
import { errorForLog } from '../../src/logger.js';
import { ADMIN_KEY, bearer, createTestApp, expectProblem, type TestApp } from '../support/app.js';
import { createEra } from '../support/fixtures.js';
import { capturedLogger } from '../support/security.js';

/*
 * A write that fails in the database must not log what it was writing: drizzle's error carries
 * the SQL and every parameter in its message (a whole universe with its private attributes). The
 * database is made to refuse such writes with triggers, so the failures are real ones.
 */

const MARKER = 'Zq9FailedWriteMarker';
const log = capturedLogger();
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({}, { logger: log.logger });
  await t.database.pool.query(`
    create function refuse_for_test() returns trigger language plpgsql as $$
    begin raise exception 'refused by the test' using errcode = 'XX042'; end $$`);
  await t.database.pool.query('create trigger refuse_universe before insert on universe_rows for each row execute function refuse_for_test()');
  await t.database.pool.query(`create trigger refuse_marked_account before insert on accounts for each row when (new.name like 'Zq9%') execute function refuse_for_test()`);
});
afterAll(async () => t.close());

describe('a write that fails in the database', () => {
  it('holds the marker in the raw error, and not in what is logged of it', async () => {
    const error = await t.database.db
      .insert(accounts)
      .values({ name: `${MARKER}-raw`, role: 'author' })
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toContain(MARKER);
    const logged = errorForLog(error);
    expect(logged.code).toBe('XX042');
    expect(logged.message).toContain('refused by the test');
    expect(JSON.stringify(logged)).not.toContain(MARKER);
  });

  it('answers 500 without internals and logs the error by code and message only', async () => {
    await createEra(t.app, { number: 1 });
    const universe = `id,sector,industry,country,tags,note\n${['a1', 'a2', 'a3'].map((id) => `${id},10${MARKER},101010,US,${MARKER},${MARKER} private`).join('\n')}\n`;
    const put = await t.app.inject({ method: 'PUT', url: '/v1/eras/1/universe', headers: { ...bearer(ADMIN_KEY), 'content-type': 'text/csv' }, payload: universe });
    const problem = expectProblem(put, 500);
    expect(put.body).not.toContain(MARKER);
    expect(problem.detail).not.toMatch(/refused by the test|insert/i);

    const account = await t.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(ADMIN_KEY), payload: { name: `${MARKER}-api`, role: 'author' } });
    expectProblem(account, 500);

    const errors = log
      .text()
      .split('\n')
      .filter((line) => line.includes('"msg":"unhandled error"'))
      .map((line) => JSON.parse(line) as { err: { type: string; code?: string; message: string; stack?: string } });
    expect(errors).toHaveLength(2);
    for (const { err } of errors) {
      expect(err).toEqual({ type: 'DatabaseError', code: 'XX042', message: 'refused by the test' });
    }
    expect(log.text()).not.toContain(MARKER);
  });
});
