import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/migrate.js';
import { modelResults, rankedStanding } from '../../src/db/results.js';
import { drizzle } from 'drizzle-orm/node-postgres';
import * as schema from '../../src/db/schema.js';
import { databaseBefore } from '../support/upgrade.js';

/*
 * Upgrading the running totals: rows written before the flat resolution (migration 0020; a
 * model carried forward through eras it missed), and rows as the flat resolution wrote them
 * (before 0023, which keeps only the rows of models that took part). Every kept value stays to
 * the last bit, the carried copies go, and the leaderboard and performance read the same.
 */

const KEPT = 'target, era_number, model_id::text, corr, mmc, stake::text, payout::text, scored_eras, corr_total, mmc_total, score_total';

describe('the flat resolution migration', () => {
  it('keeps every running total of the eras a model took part in, and ranks the same', async () => {
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
      const before = (await pool.query(`select ${KEPT} from model_era_results where took_part order by era_number, model_id`)).rows;
      const db = drizzle(pool, { schema });
      const standingBefore = await rankedStanding(db, 'target', { last: 3, before: 1 });

      await migrateDatabase(pool);

      expect((await pool.query(`select ${KEPT} from model_era_results order by era_number, model_id`)).rows).toEqual(before);
      expect(await rankedStanding(db, 'target', { last: 3, before: 1 })).toEqual(standingBefore);
      expect(standingBefore.map((s) => [s.model, s.eras])).toEqual([['steady', 2]]);
    } finally {
      await handle.drop();
    }
  }, 60_000);
});

describe('the slim results migration (0023)', () => {
  it('keeps each took-part row bit for bit, drops the carried copies, and serves the same standings and series', async () => {
    const handle = await databaseBefore('0023_slim_results', { prefix: 'sw_slim', poolSize: 2 });
    const { pool } = handle;
    try {
      const account = (await pool.query(`insert into accounts (name, role) values ('a', 'author') returning id`)).rows[0].id as string;
      const model = async (n: string) => (await pool.query(`insert into models (name, account_id) values ($1, $2) returning id`, [n, account])).rows[0].id as string;
      const ids = { steady: await model('steady'), gone: await model('gone'), back: await model('back') };
      const ERAS = [1, 2, 3, 4, 5];
      for (const era of ERAS) {
        await pool.query(`insert into eras (number, opens_at, closes_at, main_target, resolved_at) values ($1, now() - interval '2 days', now() - interval '1 day', 'target', now())`, [era]);
      }
      // As the flat resolution (0020) wrote them: a row per model that took part, carried copies
      // (took_part false, same totals, its last stake and era) while absent. Values that do not
      // survive a round trip through decimal text unchanged unless copied as float8.
      const takesPart: Record<keyof typeof ids, number[]> = { steady: ERAS, gone: [1], back: [1, 4, 5] };
      const series = (name: keyof typeof ids, era: number) => ({
        corr: (era === 3 && name === 'steady') ? null : Math.sin(era * 7 + name.length) / 30,
        mmc: Math.cos(era * 3 + name.length) / 70,
        stake: `${name.length * 10 + era}.${era}`,
        payout: era % 2 === 0 ? null : `0.000000000${era}`,
      });
      for (const target of ['target', 'cyrus_60']) {
        for (const name of Object.keys(ids) as (keyof typeof ids)[]) {
          const totals = { scored: 0, corr: 0, mmc: 0, score: 0, stake: null as string | null, last: 0 };
          for (const era of ERAS) {
            const took = takesPart[name].includes(era);
            if (!took && totals.last === 0) continue;
            const own = took ? series(name, era) : { corr: null, mmc: null, stake: null, payout: null };
            const score = own.corr !== null && own.mmc !== null ? 0.5 * own.corr + 2 * own.mmc : null;
            if (took) {
              if (score !== null) {
                totals.scored += 1;
                totals.corr += own.corr!;
                totals.mmc += own.mmc!;
              }
              totals.score += score ?? 0;
              totals.stake = own.stake;
              totals.last = era;
            }
            await pool.query(
              `insert into model_era_results (target, era_number, model_id, took_part, corr, mmc, score, stake, payout, scored_eras, corr_total, mmc_total, score_total, last_stake, last_era)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
              [target, era, ids[name], took, own.corr, own.mmc, score, own.stake, own.payout, totals.scored, totals.corr, totals.mmc, totals.score, totals.stake, totals.last],
            );
          }
        }
      }
      const before = (await pool.query(`select ${KEPT} from model_era_results where took_part order by target, model_id, era_number`)).rows;
      const carried = (await pool.query(`select count(*)::int as n from model_era_results where not took_part`)).rows[0].n as number;
      expect(carried).toBe(2 * (4 + 2));
      // The standings as the flat resolution read them: totals at the window's last era minus those at the era before it.
      const oldStanding = async (target: string, last: number, before: number) =>
        (
          await pool.query(
            `select m.name as model, r.scored_eras - coalesce(b.scored_eras, 0) as eras,
                    (r.corr_total - coalesce(b.corr_total, 0)) / (r.scored_eras - coalesce(b.scored_eras, 0)) as "corrRep",
                    (r.mmc_total - coalesce(b.mmc_total, 0)) / (r.scored_eras - coalesce(b.scored_eras, 0)) as "mmcRep",
                    (r.score_total - coalesce(b.score_total, 0)) / (r.scored_eras - coalesce(b.scored_eras, 0)) as score,
                    r.last_stake::text as stake
             from model_era_results r join models m on m.id = r.model_id
             left join model_era_results b on b.era_number = $3 and b.target = r.target and b.model_id = r.model_id
             where r.era_number = $2 and r.target = $1 and r.scored_eras - coalesce(b.scored_eras, 0) > 0
             order by 5 desc, m.name collate "C"`,
            [target, last, before],
          )
        ).rows;
      const windows = [
        [5, 4],
        [5, 3],
        [4, 2],
        [3, 1],
        [5, -1],
        [2, 1],
      ] as const;
      const expected = new Map<string, unknown>();
      for (const target of ['target', 'cyrus_60']) for (const [last, b] of windows) expected.set(`${target}:${last}:${b}`, await oldStanding(target, last, b));

      await migrateDatabase(pool);

      expect((await pool.query(`select ${KEPT} from model_era_results order by target, model_id, era_number`)).rows).toEqual(before);
      const db = drizzle(pool, { schema });
      for (const target of ['target', 'cyrus_60']) {
        for (const [last, b] of windows) {
          const served = await rankedStanding(db, target, { last, before: b < 0 ? null : b });
          expect(served, `${target} window ${b + 1}..${last}`).toEqual(expected.get(`${target}:${last}:${b}`));
        }
        for (const [name, id] of Object.entries(ids)) {
          const { rows } = await modelResults(db, id, target);
          expect(rows.map((r) => r.era)).toEqual(takesPart[name as keyof typeof ids]);
          expect(rows).toEqual(
            before
              .filter((r) => r.target === target && r.model_id === id)
              .map((r) => ({ era: r.era_number, corr: r.corr, mmc: r.mmc, stake: r.stake, payout: r.payout })),
          );
        }
      }
    } finally {
      await handle.drop();
    }
  }, 60_000);
});
