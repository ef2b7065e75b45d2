import { fromUnits } from './decimal.js';

/**
 * The wallet rules (docs/stakes.md, "Wallets") on exact units of 10⁻¹⁸: what each movement does
 * to an account's wallet `balance` and `held`, as wallet entries. Pure: the services
 * (services/wallets.ts, services/settlement.ts) load the wallet's head through db/wallets.ts, apply these and write the entries; the database
 * checks the same arithmetic again (migration 0011).
 */

export type WalletEntryKind = 'credit' | 'stake' | 'unstake' | 'withdrawal_held' | 'withdrawal_released' | 'withdrawn';
export const WALLET_ENTRY_KINDS: readonly WalletEntryKind[] = ['credit', 'stake', 'unstake', 'withdrawal_held', 'withdrawal_released', 'withdrawn'];

/** How a stake raise is paid for: from the owner's wallet, or (play money) by a credit of what the wallet lacks. */
export type StakeFunding = 'wallet' | 'open';
export const STAKE_FUNDINGS: readonly StakeFunding[] = ['wallet', 'open'];

/** A wallet after its latest entry; `balance` includes what pending withdrawals hold. */
export interface WalletHead {
  seq: number;
  balance: bigint;
  held: bigint;
}

export interface WalletEntry {
  kind: WalletEntryKind;
  seq: number;
  delta: bigint;
  balance: bigint;
  held: bigint;
  modelId: string | null;
  withdrawalId: string | null;
  reference: string | null;
}

export const EMPTY_WALLET: WalletHead = { seq: 0, balance: 0n, held: 0n };

/** What the wallet can pay with: its balance less what pending withdrawals hold. */
export const available = (head: WalletHead): bigint => head.balance - head.held;

/** A movement the wallet cannot pay for; `available` is what it could. */
export class InsufficientFunds extends Error {
  constructor(
    readonly available: bigint,
    readonly needed: bigint,
  ) {
    super(`the wallet holds ${fromUnits(available)} available but ${fromUnits(needed)} is needed`);
  }
}

export const walletAfter = (entry: WalletEntry): WalletHead => ({ seq: entry.seq, balance: entry.balance, held: entry.held });

function next(head: WalletHead, kind: WalletEntryKind, delta: bigint, held: bigint, rest: Partial<WalletEntry> = {}): WalletEntry {
  return { kind, seq: head.seq + 1, delta, balance: head.balance + delta, held, modelId: null, withdrawalId: null, reference: null, ...rest };
}

function positive(amount: bigint, what: string) {
  if (amount <= 0n) throw new RangeError(`${what} is always positive`);
}

/** Money coming in from outside (staff, naming the outside payment in `reference`). */
export function credit(head: WalletHead, amount: bigint, reference: string, modelId: string | null = null): WalletEntry {
  positive(amount, 'a credit');
  return next(head, 'credit', amount, head.held, { reference, modelId });
}

/**
 * Paying a stake raise of `amount` into a model: from what is available, or InsufficientFunds.
 * Under `open` funding what the wallet lacks is credited first (an unfunded raise counts as a credit).
 */
export function stake(head: WalletHead, amount: bigint, modelId: string, funding: StakeFunding): WalletEntry[] {
  positive(amount, 'a stake raise');
  const entries: WalletEntry[] = [];
  let at = head;
  const short = amount - available(head);
  if (short > 0n) {
    if (funding === 'wallet') throw new InsufficientFunds(available(head), amount);
    const funded = credit(head, short, 'STAKE_FUNDING=open: an unfunded stake raise', modelId);
    entries.push(funded);
    at = walletAfter(funded);
  }
  entries.push(next(at, 'stake', -amount, at.held, { modelId }));
  return entries;
}

/** A model's released stake coming back. */
export function unstake(head: WalletHead, amount: bigint, modelId: string): WalletEntry {
  positive(amount, 'a returned release');
  return next(head, 'unstake', amount, head.held, { modelId });
}

/** A withdrawal request holds its amount: from what is available, or InsufficientFunds. */
export function hold(head: WalletHead, amount: bigint, withdrawalId: string): WalletEntry {
  positive(amount, 'a withdrawal');
  if (amount > available(head)) throw new InsufficientFunds(available(head), amount);
  return next(head, 'withdrawal_held', 0n, head.held + amount, { withdrawalId });
}

/** A rejected withdrawal: its hold ends, the money stays. */
export function releaseHold(head: WalletHead, amount: bigint, withdrawalId: string, reason: string): WalletEntry {
  positive(amount, 'a withdrawal');
  if (amount > head.held) throw new RangeError('the wallet holds less than the withdrawal');
  return next(head, 'withdrawal_released', 0n, head.held - amount, { withdrawalId, reference: reason });
}

/** A completed withdrawal: the held money leaves the tournament. */
export function withdrawn(head: WalletHead, amount: bigint, withdrawalId: string, reference: string): WalletEntry {
  positive(amount, 'a withdrawal');
  if (amount > head.held) throw new RangeError('the wallet holds less than the withdrawal');
  return next(head, 'withdrawn', -amount, head.held - amount, { withdrawalId, reference });
}

/** A wallet entry to write, with the head it follows (the database checks the chain). */
export interface WrittenWalletEntry {
  accountId: string;
  previous: WalletHead;
  entry: WalletEntry;
}

/** Entries in order from a head, each with the head before it, and the head after the last. */
export function chainWallet(accountId: string, head: WalletHead, entries: readonly WalletEntry[]): { written: WrittenWalletEntry[]; head: WalletHead } {
  const written: WrittenWalletEntry[] = [];
  let previous = head;
  for (const entry of entries) {
    written.push({ accountId, previous, entry });
    previous = walletAfter(entry);
  }
  return { written, head: previous };
}

/** Released stake back into its owners' wallets (heads by account, locked); zero amounts move nothing. */
export function unstakeAll(heads: ReadonlyMap<string, WalletHead>, returns: readonly { accountId: string; modelId: string; amount: bigint }[]): WrittenWalletEntry[] {
  const at = new Map(heads);
  const written: WrittenWalletEntry[] = [];
  for (const r of returns) {
    if (r.amount <= 0n) continue;
    const head = at.get(r.accountId);
    if (!head) throw new RangeError(`the wallet of account ${r.accountId} is not locked`);
    const step = chainWallet(r.accountId, head, [unstake(head, r.amount, r.modelId)]);
    written.push(...step.written);
    at.set(r.accountId, step.head);
  }
  return written;
}

/** The conservation identity (docs/stakes.md): the money inside equals what came in less what went out. */
export interface MoneyTotals {
  wallets: bigint;
  models: bigint;
  credits: bigint;
  withdrawn: bigint;
  payouts: bigint;
  burns: bigint;
}

/** Inside − (credits − withdrawn + payouts − burns): 0 when money is conserved. */
export const imbalance = (t: MoneyTotals): bigint => t.wallets + t.models - (t.credits - t.withdrawn + t.payouts - t.burns);
