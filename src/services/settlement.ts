import type { Executor } from '../db/client.js';
import { emitEvents } from '../db/events.js';
import * as ledger from '../db/ledger.js';
import { lockModelForStake } from '../db/models.js';
import { insertWalletEntries, lockWallets } from '../db/wallets.js';
import { fromUnits, toUnits } from '../domain/decimal.js';
import { ledgerEvents } from '../domain/events.js';
import { lowerStake, planStakeChange, settleEra, type WalletReturn } from '../domain/settlement.js';
import { EMPTY_HEAD } from '../domain/stake.js';
import { chainWallet, stake, unstakeAll, type StakeFunding } from '../domain/wallet.js';

/**
 * Stake settlement, composed: reads the ledger and wallets (db/ledger.ts, db/wallets.ts), applies
 * the rules (domain/settlement.ts, domain/stake.ts, domain/wallet.ts) and writes the entries, in the
 * caller's transaction. Lock order: the stake lock, the model row, then its owner's wallet.
 */

export interface EraPayout {
  modelId: string;
  /** exact decimal, negative for a burn */
  payout: string;
}

/** Released stake back into the owners' wallets (zero amounts move nothing). */
async function returnToWallets(tx: Executor, returns: readonly WalletReturn[]) {
  const due = returns.filter((r) => r.amount > 0n);
  if (due.length === 0) return;
  const heads = await lockWallets(tx, due.map((r) => r.accountId));
  await insertWalletEntries(tx, unstakeAll(heads, due));
}

/**
 * Sets a model's amount (units ≥ 0): a deposit when it rises, paid from the owner's wallet
 * (InsufficientFunds when it is short under `wallet` funding); when it falls, a pending release
 * that waits for every era the model has stake at risk in, released at once (back into the
 * wallet) if none. Takes the stake lock, the model row, then its owner's wallet.
 */
export async function changeAmount(tx: Executor, modelId: string, target: bigint, funding: StakeFunding): Promise<void> {
  await ledger.lockForStakeChange(tx);
  const accountId = await lockModelForStake(tx, modelId);
  if (accountId === undefined) throw new RangeError(`model ${modelId} does not exist`);
  const head = (await ledger.stakeHeads(tx, [modelId])).get(modelId) ?? EMPTY_HEAD;
  const change = planStakeChange(head, target);
  if (!change) return;
  if (change.kind === 'deposit') {
    const wallet = (await lockWallets(tx, [accountId])).get(accountId)!;
    await insertWalletEntries(tx, chainWallet(accountId, wallet, stake(wallet, change.entry.delta, modelId, funding)).written);
    await ledger.insertStakeEntries(tx, [{ modelId, previous: head, entry: change.entry }]);
    return;
  }
  const at = await ledger.stampInsideLock(tx);
  const waitsForEras = await ledger.erasAReleaseWaitsFor(tx, modelId, at);
  const releaseId = await ledger.insertRelease(tx, modelId, change.release, waitsForEras);
  const lowered = lowerStake({ modelId, accountId, head, entry: change.entry, release: change.release, releaseId, waitsForEras, at });
  if (lowered.releasedNow) {
    await ledger.updateReleases(tx, new Map([[releaseId, { remaining: change.release, released: true }]]));
    await returnToWallets(tx, lowered.returned);
  }
  await ledger.insertStakeEntries(tx, lowered.written);
  await emitEvents(tx, ledgerEvents(lowered.written));
}

/**
 * What an era's resolution would move, read and computed without writing: the ledger entries
 * (payouts and burns as settled against each model's balance, then the releases due), the
 * releases they touch and the wallet returns. applyEraResolution writes exactly this; a dry run
 * reads `settled` (each paying model's delta) and `total`.
 */
export async function planEraResolution(tx: Executor, era: number, payouts: readonly EraPayout[]) {
  const due = await ledger.releasesDue(tx, era);
  const modelIds = [...new Set([...payouts.map((p) => p.modelId), ...due.map((r) => r.modelId)])];
  const heads = await ledger.stakeHeads(tx, modelIds);
  const open = await ledger.openReleases(tx, modelIds);
  return settleEra(era, payouts.map((p) => ({ modelId: p.modelId, payout: toUnits(p.payout) })), { heads, open, due });
}

/**
 * Applies an era's resolution to the ledger, inside the resolving transaction (which holds the
 * era row): each payout or burn once (the unique (model, era) index backs this up), then every
 * pending release whose last awaited era is this one leaves its model for its owner's wallet.
 * Takes the stake lock exclusively, then the owners' wallets. Returns Σ delta of the era's payouts
 * and burns, what actually moved.
 */
export async function applyEraResolution(tx: Executor, era: number, payouts: readonly EraPayout[]): Promise<{ entries: number; total: string }> {
  await ledger.lockStakes(tx);
  const { written, touched, returns, total } = await planEraResolution(tx, era, payouts);
  // What burns left of each release goes back to its owner's wallet.
  await returnToWallets(tx, returns);
  await ledger.updateReleases(tx, touched);
  await ledger.insertStakeEntries(tx, written);
  await emitEvents(tx, ledgerEvents(written));
  return { entries: written.length, total: fromUnits(total) };
}
