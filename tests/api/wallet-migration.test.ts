import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyEraResolution } from '../../src/services/settlement.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { auditService } from '../../src/services/audit.js';
import { bundlesService } from '../../src/services/bundles.js';
import { erasService } from '../../src/services/eras.js';
import { verifyService } from '../../src/services/verify.js';
import { databaseBefore } from '../support/upgrade.js';

/*
 * Upgrading a database with stakes to wallets (migration 0011): stakes, payouts, burns, a release
 * that left and one still pending, written under the rules before wallets; after the upgrade every
 * balance is where it was, every wallet is at 0, money is conserved, and the pending release
 * returns to its owner's wallet when its era resolves.
 */

describe('the wallets migration', () => {
  it('credits existing stakes so nothing moves: every balance kept, wallets at 0, verify passes, a pending release comes back later', async () => {
    const handle = await databaseBefore('0011_wallets', { prefix: 'sw_wallets', poolSize: 3 });
    const { pool } = handle;
    try {
      const account = async (n: string) => (await pool.query(`insert into accounts (name, role) values ($1, 'author') returning id`, [n])).rows[0].id as string;
      const model = async (n: string, accountId: string) => (await pool.query(`insert into models (name, account_id) values ($1, $2) returning id`, [n, accountId])).rows[0].id as string;
      const a = await account('a');
      const b = await account('b');
      await account('no_models');
      const [m1, m2, m3] = [await model('m1', a), await model('m2', a), await model('m3', b)];
      for (const era of [1, 2]) await pool.query(`insert into eras (number, opens_at, closes_at, main_target) values ($1, now() - interval '2 days', now() - interval '1 day', 'target')`, [era]);

      const ledger = await pool.connect();
      try {
        await ledger.query('begin');
        const entry = (model: string, seq: number, kind: string, delta: string, amount: string, balance: string, prev: [string, string] | null, era: number | null = null, release: string | null = null) =>
          ledger.query(
            `insert into stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, release_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [model, seq, kind, delta, amount, balance, prev ? seq - 1 : null, prev?.[0] ?? null, prev?.[1] ?? null, era, release],
          );
        const release = async (model: string, amount: string, released: boolean, waits: number[]) => {
          const { rows } = await ledger.query(`insert into stake_releases (model_id, amount, remaining, released_at) values ($1, $2, $2, ${released ? 'now()' : 'null'}) returning id::text`, [model, amount]);
          for (const era of waits) await ledger.query(`insert into stake_release_eras (release_id, era_number) values ($1, $2)`, [rows[0].id, era]);
          return rows[0].id as string;
        };
        // m1: 100 in, paid 10, all 110 released (more than was deposited), then 50 in.
        await entry(m1, 1, 'deposit', '100', '100', '100', null);
        await entry(m1, 2, 'payout', '10', '110', '110', ['100', '100'], 1);
        const r1 = await release(m1, '110', true, []);
        await entry(m1, 3, 'release_requested', '0', '0', '110', ['110', '110'], null, r1);
        await entry(m1, 4, 'released', '-110', '0', '0', ['0', '110'], null, r1);
        await entry(m1, 5, 'deposit', '50', '50', '50', ['0', '0']);
        // m2: 30 in, burned 1.5, 8.5 lowered while at risk in era 2: pending.
        await entry(m2, 1, 'deposit', '30', '30', '30', null);
        await entry(m2, 2, 'burn', '-1.5', '28.5', '28.5', ['30', '30'], 1);
        const r2 = await release(m2, '8.5', false, [2]);
        await entry(m2, 3, 'release_requested', '0', '20', '28.5', ['28.5', '28.5'], null, r2);
        // m3 (another account): 7.25 in.
        await entry(m3, 1, 'deposit', '7.25', '7.25', '7.25', null);
        await ledger.query('commit');
      } finally {
        ledger.release();
      }
      const balances = async () => (await pool.query(`select distinct on (model_id) model_id, amount::text, balance::text from stake_entries order by model_id, seq desc`)).rows;
      const before = await balances();

      await migrateDatabase(pool);

      expect(await balances()).toEqual(before);
      const { rows: wallets } = await pool.query(
        `select a.name, coalesce((select balance::text from wallet_entries e where e.account_id = a.id order by seq desc limit 1), 'none') as balance from accounts a order by a.name`,
      );
      expect(wallets).toEqual([{ name: 'a', balance: '0' }, { name: 'b', balance: '0' }, { name: 'no_models', balance: 'none' }]);
      const { rows: entriesOfA } = await pool.query(`select kind, delta::text, balance::text, model_id from wallet_entries where account_id = $1 order by seq`, [a]);
      expect(entriesOfA.map((e) => [e.kind, e.delta, e.balance])).toEqual([
        ['credit', '180', '180'],
        ...[m1, m2].sort().map((m) => ['stake', m === m1 ? '-150' : '-30', expect.any(String)]),
        ['unstake', '110', '110'],
        ['withdrawal_held', '0', '110'],
        ['withdrawn', '-110', '0'],
      ]);

      const config = loadConfig({ DATABASE_URL: handle.url, LOG_LEVEL: 'silent' });
      const eras = erasService({ db: handle.db, audit: auditService(handle.db), config });
      const verify = verifyService({ db: handle.db, eras, bundles: bundlesService({ db: handle.db, eras }) });
      const report = await verify.verify();
      expect(report.bundles.break).toBeNull();
      expect(report.audit.break).toBeNull();
      expect(report.money).toEqual({ wallets: '0', models: '85.75', credits: '187.25', withdrawn: '110', payouts: '10', burns: '1.5', imbalance: '0', conserved: true });

      // The release pending at the upgrade returns to the wallet when its era resolves.
      await handle.db.transaction(async (tx) => applyEraResolution(tx, 2, []));
      const { rows: last } = await pool.query(`select kind, delta::text, balance::text, model_id from wallet_entries where account_id = $1 order by seq desc limit 1`, [a]);
      expect(last[0]).toEqual({ kind: 'unstake', delta: '8.5', balance: '8.5', model_id: m2 });
      expect((await verify.verify()).money).toMatchObject({ wallets: '8.5', models: '77.25', conserved: true });
    } finally {
      await handle.drop();
    }
  });
});
