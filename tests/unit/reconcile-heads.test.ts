import { describe, expect, it } from 'vitest';
import { headBreak, headsSchema } from '../../src/domain/heads.js';
import { reconcileEra } from '../../src/domain/reconcile.js';

const d = (c: string) => c.repeat(64);

describe('headBreak', () => {
  it('holds when the chain is the saved one or longer with the saved digest at the saved count', () => {
    expect(headBreak({ count: 3, chainDigest: d('a') }, { count: 3, chainDigest: d('a') }, d('a'))).toBeNull();
    expect(headBreak({ count: 3, chainDigest: d('a') }, { count: 5, chainDigest: d('b') }, d('a'))).toBeNull();
    expect(headBreak({ count: 0, chainDigest: null }, { count: 0, chainDigest: null }, null)).toBeNull();
  });

  it('breaks on fewer links, or another digest at the saved count', () => {
    expect(headBreak({ count: 3, chainDigest: d('a') }, { count: 2, chainDigest: d('c') }, null)).toMatch(/holds 2 link\(s\) where the saved head had 3/);
    expect(headBreak({ count: 3, chainDigest: d('a') }, { count: 4, chainDigest: d('b') }, d('c'))).toMatch(new RegExp(`link 3 has chain digest ${d('c')} where the saved head had ${d('a')}`));
  });

  it('reads only a well-formed answer of /v1/reports/heads', () => {
    expect(headsSchema.safeParse({ bundles: { count: 1, chainDigest: d('a') }, audit: { count: 0, chainDigest: null } }).success).toBe(true);
    expect(headsSchema.safeParse({ bundles: { count: 1, chainDigest: null }, audit: { count: 0, chainDigest: null } }).success).toBe(false);
    expect(headsSchema.safeParse({ bundles: { count: -1, chainDigest: null }, audit: { count: 0, chainDigest: null } }).success).toBe(false);
  });
});

describe('reconcileEra', () => {
  const bundle = [
    { model: 'a', payout: '2.5' },
    { model: 'b', payout: '-1.25' },
    { model: 'c', payout: null },
  ];

  it('finds nothing when every payout and burn is the bundle\'s and the totals agree', () => {
    const ledger = [
      { model: 'a', kind: 'payout' as const, delta: '2.50', note: null },
      { model: 'b', kind: 'burn' as const, delta: '-1.25', note: null },
    ];
    expect(reconcileEra(7, bundle, ledger, '1.25')).toEqual([]);
  });

  it('names the era, the model and both figures, and the totals, exactly (no float rounding)', () => {
    const ledger = [
      { model: 'a', kind: 'payout' as const, delta: '2.500000000000000001', note: null },
      { model: 'b', kind: 'burn' as const, delta: '-1', note: 'burn of 1.25 cut at the balance of 1' },
      { model: 'z', kind: 'payout' as const, delta: '0', note: null },
    ];
    expect(reconcileEra(7, bundle, ledger, '1.25')).toEqual([
      { era: 7, model: 'a', problem: "the ledger paid 2.500000000000000001 but the bundle's payout is 2.5" },
      { era: 7, model: 'b', problem: "the ledger burned -1 (its note: burn of 1.25 cut at the balance of 1) but the bundle's payout is -1.25" },
      { era: 7, model: 'z', problem: "the ledger paid 0 but the model is not in the era's bundle" },
      { era: 7, model: null, problem: "the ledger's settlement total is 1.500000000000000001 but the bundle's payouts sum to 1.25" },
      { era: 7, model: null, problem: "the ledger's settlement total is 1.500000000000000001 but the era's resolution recorded 1.25 in the audit log" },
    ]);
  });

  it('reports a payout the ledger lacks, and a movement the bundle does not pay', () => {
    const ledger = [{ model: 'c', kind: 'payout' as const, delta: '0', note: null }];
    expect(reconcileEra(7, bundle, ledger, null).map((m) => [m.model, m.problem])).toEqual([
      ['a', "the bundle's payout is 2.5 but the ledger holds no payout or burn"],
      ['b', "the bundle's payout is -1.25 but the ledger holds no payout or burn"],
      ['c', 'the ledger paid 0 but the bundle has no payout for it'],
      [null, "the ledger's settlement total is 0 but the bundle's payouts sum to 1.25"],
    ]);
  });
});
