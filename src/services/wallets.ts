import type { Database } from '../db/client.js';
import * as wallets from '../db/wallets.js';
import type { StoredWallet, WithdrawalRow, WithdrawalStatus } from '../db/wallets.js';
import { fromUnits, toUnits } from '../domain/decimal.js';
import * as rules from '../domain/wallet.js';
import { conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';

export type { WithdrawalRow, WithdrawalStatus };

/**
 * Wallets (docs/stakes.md, "Wallets"): staff credit them, stakes draw from them (services/models.ts
 * through services/settlement.ts), released stake returns to them, and authors withdraw from them
 * through a request staff complete or reject. Every staff action is audited in its own transaction.
 * Amounts arrive as units > 0 and texts trimmed and non-empty (the route's schemas); a wallet short
 * of an amount throws domain/wallet.ts InsufficientFunds, which the route presents.
 */
export interface WalletsDeps {
  db: Database;
  audit: AuditService;
}

type Decision = { status: 'completed'; reference: string } | { status: 'rejected'; reason: string };

/** Operators and admins act on other accounts' wallets; an author only on their own. */
function assertStaff(who: Principal) {
  if (who.role === 'author') throw forbidden('only operators and admins may do this');
}

function assertMoves(amount: bigint) {
  if (amount <= 0n) throw new RangeError('a wallet movement is always positive');
}

/** An account's wallet as the OpenAPI document serves it. */
export interface WalletView {
  balance: string;
  held: string;
  available: string;
  entries: StoredWallet['entries'];
}

async function walletOf(deps: Pick<WalletsDeps, 'db'>, accountId: string): Promise<WalletView> {
  const { head, entries } = await deps.db.transaction(async (tx) => wallets.storedWallet(tx, accountId), { isolationLevel: 'repeatable read', accessMode: 'read only' });
  return { balance: fromUnits(head.balance), held: fromUnits(head.held), available: fromUnits(rules.available(head)), entries };
}

/** The caller's own wallet. */
export async function myWallet(deps: Pick<WalletsDeps, 'db'>, who: Principal): Promise<WalletView> {
  return walletOf(deps, who.accountId);
}

/** An account's wallet, for staff: 404 for an unknown account. */
export async function accountWallet(deps: Pick<WalletsDeps, 'db'>, who: Principal, accountId: string): Promise<WalletView> {
  assertStaff(who);
  if (!(await wallets.accountExists(deps.db, accountId))) throw notFound(`account ${accountId} does not exist`);
  return walletOf(deps, accountId);
}

/** Money from outside into an account's wallet (staff, audited). */
export async function credit(deps: WalletsDeps, who: Principal, accountId: string, input: { amount: bigint; reference: string }): Promise<WalletView> {
  assertStaff(who);
  assertMoves(input.amount);
  await deps.db.transaction(async (tx) => {
    const head = (await wallets.lockWallets(tx, [accountId])).get(accountId);
    if (!head) throw notFound(`account ${accountId} does not exist`);
    await wallets.insertWalletEntries(tx, rules.chainWallet(accountId, head, [rules.credit(head, input.amount, input.reference)]).written);
    await deps.audit.record(tx, { actor: who, action: 'wallet.credit', subject: accountId, details: { amount: fromUnits(input.amount), reference: input.reference } });
  });
  return walletOf(deps, accountId);
}

/** An author asks to take money out: the amount is held until staff decide (InsufficientFunds above what is available). */
export async function requestWithdrawal(deps: Pick<WalletsDeps, 'db'>, who: Principal, input: { amount: bigint }): Promise<WithdrawalRow> {
  assertMoves(input.amount);
  return deps.db.transaction(async (tx) => {
    const head = (await wallets.lockWallets(tx, [who.accountId])).get(who.accountId)!;
    if (input.amount > rules.available(head)) throw new rules.InsufficientFunds(rules.available(head), input.amount);
    const withdrawal = await wallets.insertWithdrawal(tx, who.accountId, fromUnits(input.amount));
    await wallets.insertWalletEntries(tx, rules.chainWallet(who.accountId, head, [rules.hold(head, input.amount, withdrawal.id)]).written);
    return withdrawal;
  });
}

/** Withdrawals oldest first (staff). */
export async function listWithdrawals(
  deps: Pick<WalletsDeps, 'db'>,
  who: Principal,
  query: { status?: WithdrawalStatus; accountId?: string; limit: number },
): Promise<WithdrawalRow[]> {
  assertStaff(who);
  return wallets.listWithdrawals(deps.db, query);
}

/** Decides a pending withdrawal: locks it, then its wallet; staff other than its requester. */
export async function decideWithdrawal(deps: WalletsDeps, who: Principal, id: string, decision: Decision): Promise<WithdrawalRow> {
  assertStaff(who);
  return deps.db.transaction(async (tx) => {
    const found = await wallets.findWithdrawal(tx, id, true);
    if (!found) throw notFound(`withdrawal ${id} does not exist`);
    if (found.accountId === who.accountId) throw forbidden(`withdrawal ${id} is your own; another operator or admin decides it`);
    if (found.status !== 'pending') throw conflict(`withdrawal ${id} is already ${found.status}; only a pending withdrawal is completed or rejected`);
    const head = (await wallets.lockWallets(tx, [found.accountId])).get(found.accountId)!;
    const amount = toUnits(found.amount);
    const entry = decision.status === 'completed' ? rules.withdrawn(head, amount, id, decision.reference) : rules.releaseHold(head, amount, id, decision.reason);
    await wallets.insertWalletEntries(tx, rules.chainWallet(found.accountId, head, [entry]).written);
    const decided = await wallets.decideWithdrawal(tx, id, { ...decision, by: who.accountId });
    await deps.audit.record(tx, {
      actor: who,
      action: decision.status === 'completed' ? 'withdrawal.complete' : 'withdrawal.reject',
      subject: id,
      reason: decision.status === 'rejected' ? decision.reason : null,
      details: { accountId: found.accountId, amount: found.amount, ...(decision.status === 'completed' ? { reference: decision.reference } : {}) },
    });
    return decided;
  });
}

export function walletsService(deps: WalletsDeps) {
  return {
    view: (who: Principal) => myWallet(deps, who),
    viewAccount: (who: Principal, accountId: string) => accountWallet(deps, who, accountId),
    credit: (who: Principal, accountId: string, input: { amount: bigint; reference: string }) => credit(deps, who, accountId, input),
    requestWithdrawal: (who: Principal, input: { amount: bigint }) => requestWithdrawal(deps, who, input),
    listWithdrawals: (who: Principal, query: { status?: WithdrawalStatus; accountId?: string; limit: number }) => listWithdrawals(deps, who, query),
    complete: (who: Principal, id: string, reference: string) => decideWithdrawal(deps, who, id, { status: 'completed', reference }),
    reject: (who: Principal, id: string, reason: string) => decideWithdrawal(deps, who, id, { status: 'rejected', reason }),
  };
}

export type WalletsService = ReturnType<typeof walletsService>;
