import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/migrate.js';
import { databaseBefore } from '../support/upgrade.js';

/* Stake history written before the ledger (stake_events) moves into it when the ledger's migration runs. */

describe('the stake ledger migration', () => {
  it('replays stake_events into ledger entries: lowered stakes released at once, a burn below zero cut at the balance', async () => {
    const handle = await databaseBefore('0004_stake_ledger', { prefix: 'sw_ledger', poolSize: 2 });
    const { pool } = handle;
    try {
      const { rows: [account] } = await pool.query(`insert into accounts (name, role) values ('old', 'author') returning id`);
      const { rows: [model] } = await pool.query(`insert into models (name, account_id) values ('legacy', $1) returning id`, [account.id]);
      for (const era of [1, 2, 3]) await pool.query(`insert into eras (number, opens_at, closes_at, main_target) values ($1, now() - interval '2 days', now() - interval '1 day', 'target')`, [era]);
      // Under the old rules: set 100, burn 3, set 50 (left at once), burn 80 (the balance went to −30), set 20, pay 1.5.
      const events: [string, string, string, number | null][] = [
        ['set', '100', '100', null],
        ['payout', '-3', '97', 1],
        ['set', '-47', '50', null],
        ['payout', '-80', '-30', 2],
        ['set', '50', '20', null],
        ['payout', '1.5', '21.5', 3],
      ];
      for (const [i, [kind, delta, balance, era]] of events.entries()) {
        await pool.query(`insert into stake_events (model_id, kind, delta, balance, era_number, at) values ($1, $2, $3, $4, $5, now() - make_interval(hours => $6))`, [
          model.id, kind, delta, balance, era, 10 - i,
        ]);
      }

      await migrateDatabase(pool);
      const { rows } = await pool.query(
        `select seq, kind, delta::text, amount::text, balance::text, era_number as era, note from stake_entries where model_id = $1 order by seq`,
        [model.id],
      );
      expect(rows.map((r) => [r.seq, r.kind, r.delta, r.amount, r.balance, r.era])).toEqual([
        [1, 'deposit', '100', '100', '100', null],
        [2, 'burn', '-3', '97', '97', 1],
        [3, 'release_requested', '0', '50', '97', null],
        [4, 'released', '-47', '50', '50', null],
        [5, 'burn', '-50', '0', '0', 2],
        [6, 'deposit', '20', '20', '20', null],
        [7, 'payout', '1.5', '21.5', '21.5', 3],
      ]);
      expect(rows[4].note).toBe('burn of 80 cut at the balance of 50');
      const { rows: releases } = await pool.query(`select amount::text, remaining::text, released_at is not null as released from stake_releases where model_id = $1`, [model.id]);
      expect(releases).toEqual([{ amount: '47', remaining: '47', released: true }]);
      const { rows: tables } = await pool.query(`select to_regclass('stake_events') as old`);
      expect(tables[0].old).toBeNull();
    } finally {
      await handle.drop();
    }
  });
});
