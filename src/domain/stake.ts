import { fromUnits, minUnits } from './decimal.js';

/**
 * The stake rules (docs/stakes.md) on exact units of 10⁻¹⁸: what each movement does to
 * a model's `amount`, `balance` and pending releases, as ledger entries. Pure: domain/settlement.ts
 * applies them to the ledger's state, services/settlement.ts reads that state and writes the
 * entries (db/ledger.ts); the database checks the same arithmetic again.
 */

export type EntryKind = 'deposit' | 'release_requested' | 'released' | 'payout' | 'burn';

/** A model's stake after its latest entry; `balance − amount` is what its pending releases hold. */
export interface StakeHead {
  seq: number;
  amount: bigint;
  balance: bigint;
}

/** A pending release, as the burn rule sees it: oldest first by id. */
export interface OpenRelease {
  id: string;
  remaining: bigint;
}

export interface Entry {
  kind: EntryKind;
  seq: number;
  delta: bigint;
  amount: bigint;
  balance: bigint;
  era: number | null;
  note: string | null;
  /** the release a release_requested or released entry is about */
  releaseId: string | null;
}

export const EMPTY_HEAD: StakeHead = { seq: 0, amount: 0n, balance: 0n };

function next(head: StakeHead, kind: EntryKind, delta: bigint, amount: bigint, rest: Partial<Entry> = {}): Entry {
  return { kind, seq: head.seq + 1, delta, amount, balance: head.balance + delta, era: null, note: null, releaseId: null, ...rest };
}

export const headAfter = (entry: Entry): StakeHead => ({ seq: entry.seq, amount: entry.amount, balance: entry.balance });

/**
 * Setting the amount: raising it is a deposit of the difference, at once; lowering it moves the
 * difference into a pending release (delta 0). Null when the amount is already `target`.
 */
export function changeAmount(head: StakeHead, target: bigint): { entry: Entry; release: bigint } | null {
  if (target < 0n) throw new RangeError('a stake amount is never negative');
  if (target === head.amount) return null;
  if (target > head.amount) return { entry: next(head, 'deposit', target - head.amount, target), release: 0n };
  return { entry: next(head, 'release_requested', 0n, target), release: head.amount - target };
}

/**
 * An era's payout: a positive one (or zero) is added to `amount`; a negative one is a burn, cut
 * at the balance, taken from `amount` first and then from pending releases, oldest first.
 * `taken` lists what the burn took from each release.
 */
export function settle(head: StakeHead, releases: readonly OpenRelease[], era: number, payout: bigint): { entry: Entry; taken: { id: string; amount: bigint }[] } {
  if (payout >= 0n) return { entry: next(head, 'payout', payout, head.amount + payout, { era }), taken: [] };
  const due = -payout;
  const burned = minUnits(due, head.balance);
  const fromAmount = minUnits(burned, head.amount);
  let rest = burned - fromAmount;
  const taken: { id: string; amount: bigint }[] = [];
  for (const release of releases) {
    if (rest === 0n) break;
    const take = minUnits(rest, release.remaining);
    if (take > 0n) taken.push({ id: release.id, amount: take });
    rest -= take;
  }
  if (rest !== 0n) throw new RangeError('pending releases hold less than balance − amount');
  const notes: string[] = [];
  if (burned < due) notes.push(`burn of ${fromUnits(due)} cut at the balance of ${fromUnits(head.balance)}`);
  if (burned > fromAmount) notes.push(`${fromUnits(burned - fromAmount)} of it from pending releases`);
  const entry = next(head, 'burn', -burned, head.amount - fromAmount, { era, note: notes.length ? notes.join('; ') : null });
  return { entry, taken };
}

/** A pending release leaves the model: the balance drops by what burns left of it. */
export function release(head: StakeHead, pending: OpenRelease, era: number | null): Entry {
  const note = pending.remaining === 0n ? 'nothing left to release: burned in full while pending' : null;
  return next(head, 'released', -pending.remaining, head.amount, { era, note, releaseId: pending.id });
}
