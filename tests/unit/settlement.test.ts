import { describe, expect, it } from 'vitest';
import { toUnits as u } from '../../src/domain/decimal.js';
import { lowerStake, planStakeChange, settleEra, type LedgerState } from '../../src/domain/settlement.js';
import { EMPTY_HEAD, type OpenRelease, type StakeHead } from '../../src/domain/stake.js';
import { chainWallet, credit, EMPTY_WALLET, unstakeAll, walletAfter } from '../../src/domain/wallet.js';

/* Settlement (docs/stakes.md): the stake rules applied to the ledger's state, as what to write. */

const head = (amount: string, balance: string, seq = 4): StakeHead => ({ seq, amount: u(amount), balance: u(balance) });
const state = (heads: [string, StakeHead][], open: [string, OpenRelease[]][] = [], due: LedgerState['due'] = []): LedgerState => ({
  heads: new Map(heads),
  open: new Map(open),
  due,
});

describe('a stake change', () => {
  it('raising is a deposit of the difference; the same amount is nothing; lowering a release of the difference', () => {
    expect(planStakeChange(head('10', '10'), u('25'))).toMatchObject({ kind: 'deposit', entry: { kind: 'deposit', seq: 5, delta: u('15'), amount: u('25'), balance: u('25') } });
    expect(planStakeChange(head('10', '10'), u('10'))).toBeNull();
    expect(planStakeChange(head('10', '12'), u('4'))).toMatchObject({ kind: 'lowering', release: u('6'), entry: { kind: 'release_requested', delta: 0n, amount: u('4'), balance: u('12') } });
    expect(() => planStakeChange(EMPTY_HEAD, -1n)).toThrow(RangeError);
  });

  it('a lowering with no era to wait for leaves at once, back to the wallet; one at risk waits', () => {
    const was = head('10', '10');
    const change = planStakeChange(was, u('4'));
    if (change?.kind !== 'lowering') throw new Error('expected a lowering');
    const base = { modelId: 'm', accountId: 'a', head: was, entry: change.entry, release: change.release, releaseId: '7', at: 't' };

    const now = lowerStake({ ...base, waitsForEras: [] });
    expect(now.releasedNow).toBe(true);
    expect(now.written.map((w) => [w.entry.kind, w.entry.seq, w.entry.delta, w.entry.balance, w.entry.releaseId, w.previous.seq, w.at])).toEqual([
      ['release_requested', 5, 0n, u('10'), '7', 4, 't'],
      ['released', 6, u('-6'), u('4'), '7', 5, 't'],
    ]);
    expect(now.returned).toEqual([{ accountId: 'a', modelId: 'm', amount: u('6') }]);

    const waiting = lowerStake({ ...base, waitsForEras: [3, 4] });
    expect(waiting).toMatchObject({ releasedNow: false, returned: [] });
    expect(waiting.written.map((w) => w.entry.kind)).toEqual(['release_requested']);
  });
});

describe("an era's settlement", () => {
  it('settles payouts in model order, a burn cut at the balance, and sums what moved', () => {
    const plan = settleEra(
      9,
      [
        { modelId: 'b', payout: u('-50') },
        { modelId: 'a', payout: u('2.5') },
        { modelId: 'c', payout: 0n },
      ],
      state([
        ['a', head('10', '10')],
        ['b', head('20', '20', 1)],
      ]),
    );
    expect(plan.written.map((w) => [w.modelId, w.entry.kind, w.entry.seq, w.entry.delta, w.entry.amount, w.entry.balance, w.entry.era])).toEqual([
      ['a', 'payout', 5, u('2.5'), u('12.5'), u('12.5'), 9],
      ['b', 'burn', 2, u('-20'), 0n, 0n, 9],
      ['c', 'payout', 1, 0n, 0n, 0n, 9],
    ]);
    expect(plan.written[1].entry.note).toMatch(/burn of 50 cut at the balance of 20/);
    expect(plan.written[2].previous).toEqual(EMPTY_HEAD);
    expect([...plan.settled]).toEqual([
      ['a', u('2.5')],
      ['b', u('-20')],
      ['c', 0n],
    ]);
    expect(plan.total).toBe(u('-17.5'));
    expect(plan.returns).toEqual([]);
  });

  it('a burn past the amount takes from pending releases oldest first; a release due leaves with what is left, to its owner', () => {
    const open: OpenRelease[] = [
      { id: '1', remaining: u('3') },
      { id: '2', remaining: u('5') },
    ];
    const ledger = state([['m', head('4', '12')]], [['m', open]], [{ id: '1', modelId: 'm', accountId: 'acc' }]);
    const plan = settleEra(9, [{ modelId: 'm', payout: u('-6') }], ledger);
    expect(plan.written.map((w) => [w.entry.kind, w.entry.seq, w.entry.delta, w.entry.amount, w.entry.balance, w.entry.releaseId])).toEqual([
      ['burn', 5, u('-6'), 0n, u('6'), null],
      ['released', 6, u('-1'), 0n, u('5'), '1'],
    ]);
    expect(plan.written[1].previous).toEqual({ seq: 5, amount: 0n, balance: u('6') });
    expect([...plan.touched]).toEqual([
      ['1', { remaining: u('1'), released: true }],
    ]);
    expect(plan.returns).toEqual([{ accountId: 'acc', modelId: 'm', amount: u('1') }]);
    // The state read is left as it was: a dry run and the resolution plan from the same reads.
    expect(open).toEqual([
      { id: '1', remaining: u('3') },
      { id: '2', remaining: u('5') },
    ]);
    expect(settleEra(9, [{ modelId: 'm', payout: u('-6') }], ledger)).toEqual(plan);
  });

  it('a release due without a payout leaves in full; one burned to nothing leaves with a note and returns nothing', () => {
    const plan = settleEra(
      3,
      [{ modelId: 'x', payout: u('-9') }],
      state(
        [
          ['x', head('0', '9')],
          ['y', head('1', '4')],
        ],
        [
          ['x', [{ id: '5', remaining: u('9') }]],
          ['y', [{ id: '6', remaining: u('3') }]],
        ],
        [
          { id: '5', modelId: 'x', accountId: 'ax' },
          { id: '6', modelId: 'y', accountId: 'ay' },
        ],
      ),
    );
    expect(plan.written.map((w) => [w.modelId, w.entry.kind, w.entry.delta, w.entry.balance, w.entry.note])).toEqual([
      ['x', 'burn', u('-9'), 0n, '9 of it from pending releases'],
      ['x', 'released', 0n, 0n, 'nothing left to release: burned in full while pending'],
      ['y', 'released', u('-3'), u('1'), null],
    ]);
    expect(plan.returns).toEqual([
      { accountId: 'ax', modelId: 'x', amount: 0n },
      { accountId: 'ay', modelId: 'y', amount: u('3') },
    ]);
  });

  it('refuses a due release the state does not hold', () => {
    expect(() => settleEra(1, [], state([['m', head('1', '1')]], [], [{ id: '8', modelId: 'm', accountId: 'a' }]))).toThrow(/release 8 of model m is due but not pending/);
  });
});

describe('wallet returns', () => {
  it('chain on each locked wallet, several to one account in order, zero amounts skipped', () => {
    const start = walletAfter(credit(EMPTY_WALLET, u('5'), 'in'));
    const written = unstakeAll(new Map([['a', start], ['b', EMPTY_WALLET]]), [
      { accountId: 'a', modelId: 'm1', amount: u('2') },
      { accountId: 'b', modelId: 'm2', amount: 0n },
      { accountId: 'a', modelId: 'm3', amount: u('1.5') },
    ]);
    expect(written.map((w) => [w.accountId, w.entry.kind, w.entry.seq, w.entry.delta, w.entry.balance, w.previous.seq, w.entry.modelId])).toEqual([
      ['a', 'unstake', 2, u('2'), u('7'), 1, 'm1'],
      ['a', 'unstake', 3, u('1.5'), u('8.5'), 2, 'm3'],
    ]);
    expect(() => unstakeAll(new Map(), [{ accountId: 'z', modelId: 'm', amount: 1n }])).toThrow(/not locked/);
    expect(chainWallet('a', EMPTY_WALLET, []).head).toEqual(EMPTY_WALLET);
  });
});
