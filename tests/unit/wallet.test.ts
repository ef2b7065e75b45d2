import { describe, expect, it } from 'vitest';
import { toUnits as u } from '../../src/domain/decimal.js';
import {
  available,
  credit,
  EMPTY_WALLET,
  hold,
  imbalance,
  InsufficientFunds,
  releaseHold,
  stake,
  unstake,
  walletAfter,
  withdrawn,
} from '../../src/domain/wallet.js';

/* The wallet rules (docs/stakes.md, "Wallets") on exact units. */

describe('wallet rules', () => {
  it('a credit adds, a stake raise draws from what is available, an unstake returns', () => {
    const credited = credit(EMPTY_WALLET, u('40'), 'wire');
    expect(credited).toMatchObject({ kind: 'credit', seq: 1, delta: u('40'), balance: u('40'), held: 0n, reference: 'wire' });
    const [staked, ...rest] = stake(walletAfter(credited), u('39.5'), 'm', 'wallet');
    expect(rest).toEqual([]);
    expect(staked).toMatchObject({ kind: 'stake', seq: 2, delta: -u('39.5'), balance: u('0.5'), modelId: 'm' });
    expect(unstake(walletAfter(staked), u('10'), 'm')).toMatchObject({ kind: 'unstake', delta: u('10'), balance: u('10.5') });
  });

  it('a raise above what is available is InsufficientFunds naming it; held money is not available', () => {
    const head = walletAfter(hold(walletAfter(credit(EMPTY_WALLET, u('100'), 'wire')), u('60'), 'w'));
    expect(available(head)).toBe(u('40'));
    let error: unknown;
    try {
      stake(head, u('40.000000000000000001'), 'm', 'wallet');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InsufficientFunds);
    expect((error as InsufficientFunds).available).toBe(u('40'));
    expect(() => hold(head, u('41'), 'w2')).toThrow(InsufficientFunds);
    expect(stake(head, u('40'), 'm', 'wallet')[0].balance).toBe(u('60'));
  });

  it('under open funding an unfunded raise is credited first, only what the wallet lacks', () => {
    const head = walletAfter(credit(EMPTY_WALLET, u('10'), 'wire'));
    const entries = stake(head, u('25'), 'm', 'open');
    expect(entries.map((e) => [e.kind, e.delta, e.balance])).toEqual([
      ['credit', u('15'), u('25')],
      ['stake', -u('25'), 0n],
    ]);
    expect(stake(EMPTY_WALLET, u('5'), 'm', 'open')[0]).toMatchObject({ kind: 'credit', seq: 1, modelId: 'm' });
  });

  it('a withdrawal holds, then leaves (completed) or stays (rejected)', () => {
    const held = walletAfter(hold(walletAfter(credit(EMPTY_WALLET, u('100'), 'wire')), u('60'), 'w'));
    expect(held).toMatchObject({ balance: u('100'), held: u('60') });
    expect(withdrawn(held, u('60'), 'w', 'out')).toMatchObject({ kind: 'withdrawn', delta: -u('60'), balance: u('40'), held: 0n });
    expect(releaseHold(held, u('60'), 'w', 'no')).toMatchObject({ kind: 'withdrawal_released', delta: 0n, balance: u('100'), held: 0n });
    expect(() => withdrawn(held, u('61'), 'w', 'out')).toThrow(RangeError);
  });

  it('amounts are positive', () => {
    expect(() => credit(EMPTY_WALLET, 0n, 'x')).toThrow(RangeError);
    expect(() => stake(EMPTY_WALLET, -1n, 'm', 'open')).toThrow(RangeError);
  });

  it('conservation: inside − (credits − withdrawn + payouts − burns)', () => {
    expect(imbalance({ wallets: u('40'), models: u('65'), credits: u('110'), withdrawn: u('10'), payouts: u('7'), burns: u('2') })).toBe(0n);
    expect(imbalance({ wallets: u('40'), models: u('65'), credits: u('110'), withdrawn: u('10'), payouts: u('7'), burns: u('1') })).toBe(-u('1'));
  });
});
