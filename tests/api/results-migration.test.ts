import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/migrate.js';
import { rankedStanding } from '../../src/db/results.js';
import { drizzle } from 'drizzle-orm/node-postgres';
import * as schema from '../../src/db/schema.js';
import { databaseBefore } from '../support/upgrade.js';

/*
 * Upgrading running totals to the flat resolution (migration 0020): rows written before it (a
 * model carried forward through eras it missed) keep every value, each learns the last era its
 * model took part in, and the leaderboard reads the same standings after the upgrade.
 */

const COLUMNS = 'target, era_number, model_id::text, took_part, corr, mmc, score, stake::text, payout::text, scored_eras, corr_total, mmc_total, score_total, last_stake::text';

describe('the flat resolution migration', () => {
  it('keeps every running total, records each row\'s last era, and ranks the same', async () => {
    const handle = await databaseBefore('0020_flat_resolution', { prefix: 'sw_results', poolSize: 2 });
    const { pool } = handle;
    try {
      const account = (await pool.query(`insert into accounts (name, role) values ('a', 'author') returning id`)).rows[0].id as string;
      const model = async (n: string) => (await pool.query(`insert into models (name, account_id) values ($1, $2) returning id`, [n, account])).rows[0].id as string;
      const [steady, gone] = [await model('steady'), await model('gone')];
      for (const era of [1, 2, 3]) {
        await pool.query(`insert into eras (number, opens_at, closes_at, main_target, resolved_at) values ($1, now() - interval '2 days', now() - interval '1 day', 'target', now())`, [era]);
      }
      // As the resolution before 0020 wrote them: 'gone' took part in era 1 only and is carried to 2 and 3.
      const row = (era: number, id: string, took: boolean, corr: number | null, totals: [number, number, number, number], stake: string | null) =>
        pool.query(
          `insert into model_era_results (target, era_number, model_id, took_part, corr, mmc, score, stake, payout, scored_eras, corr_total, mmc_total, score_total, last_stake)
           values ('target', $1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [era, id, took, corr, corr === null ? null : 2.5 * corr, took ? stake : null, took ? '0.5' : null, ...totals, stake],
        );
      await row(1, steady, true, 0.01, [1, 0.01, 0.01, 0.025], '10');
      await row(1, gone, true, 0.03, [1, 0.03, 0.03, 0.075], '5');
      await row(2, steady, true, 0.02, [2, 0.03, 0.03, 0.075], '10');
      await row(2, gone, false, null, [1, 0.03, 0.03, 0.075], '5');
      await row(3, steady, true, -0.01, [3, 0.02, 0.02, 0.05], '11');
      await row(3, gone, false, null, [1, 0.03, 0.03, 0.075], '5');
      const before = (await pool.query(`select ${COLUMNS} from model_era_results order by era_number, model_id`)).rows;
      const db = drizzle(pool, { schema });
      const standingBefore = await rankedStanding(db, 'target', { last: 3, before: 1 });

      await migrateDatabase(pool);

      expect((await pool.query(`select ${COLUMNS} from model_era_results order by era_number, model_id`)).rows).toEqual(before);
      const lastEras = (await pool.query(`select era_number as era, model_id as id, last_era from model_era_results order by era_number, model_id`)).rows;
      const expected = (era: number, id: string) => (id === gone ? 1 : era);
      for (const r of lastEras) expect(r.last_era).toBe(expected(r.era, r.id));
      expect(await rankedStanding(db, 'target', { last: 3, before: 1 })).toEqual(standingBefore);
      expect(standingBefore.map((s) => [s.model, s.eras])).toEqual([['steady', 2]]);
    } finally {
      await handle.drop();
    }
  }, 60_000);
});
