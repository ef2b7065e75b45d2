import type { Database } from '../db/client.js';
import * as wallets from '../db/wallets.js';
import type { WalletView, WithdrawalRow, WithdrawalStatus } from '../db/wallets.js';
import { fromUnits, toUnits } from '../domain/decimal.js';
import * as rules from '../domain/wallet.js';
import { InsufficientFunds } from '../domain/wallet.js';
import { badRequest, conflict, forbidden, insufficientFunds, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';
import { parseAmount } from './models.js';

export type { WalletView, WithdrawalRow, WithdrawalStatus };

/** A positive exact decimal (a credit or a withdrawal), as units. */
function positiveAmount(amount: string | number): bigint {
  const units = toUnits(parseAmount(amount));
  if (units === 0n) throw badRequest('amount must be > 0', [{ path: 'body.amount', message: 'an amount of 0 moves nothing; send a decimal > 0 such as "125.5"' }]);
  return units;
}

/** A free-text field (reference, reason): trimmed, 1–500 characters. */
function text(value: string, path: string, what: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > 500) throw badRequest(`${what} is required`, [{ path, message: `give 1 to 500 characters naming ${what}` }]);
  return trimmed;
}

/**
 * Wallets (docs/stakes.md, "Wallets"): staff credit them, stakes draw from them (services/models.ts
 * through db/ledger.ts), released stake returns to them, and authors withdraw from them through a
 * request staff complete or reject. Every staff action is audited in its own transaction.
 */
export function walletsService(db: Database, audit: AuditService) {
  async function view(accountId: string): Promise<WalletView> {
    return db.transaction(async (tx) => wallets.walletView(tx, accountId), { isolationLevel: 'repeatable read', accessMode: 'read only' });
  }

  /** Decides a pending withdrawal: locks it, then its wallet; staff other than its requester. */
  async function decide(who: Principal, id: string, decision: { status: 'completed'; reference: string } | { status: 'rejected'; reason: string }) {
    return db.transaction(async (tx) => {
      const found = await wallets.findWithdrawal(tx, id, true);
      if (!found) throw notFound(`withdrawal ${id} does not exist`);
      if (found.accountId === who.accountId) throw forbidden(`withdrawal ${id} is your own; another operator or admin decides it`);
      if (found.status !== 'pending') throw conflict(`withdrawal ${id} is already ${found.status}; only a pending withdrawal is completed or rejected`);
      const head = (await wallets.lockWallets(tx, [found.accountId])).get(found.accountId)!;
      const amount = toUnits(found.amount);
      const entry =
        decision.status === 'completed'
          ? rules.withdrawn(head, amount, id, decision.reference)
          : rules.releaseHold(head, amount, id, decision.reason);
      await wallets.appendToWallet(tx, found.accountId, head, [entry]);
      const decided = await wallets.decideWithdrawal(tx, id, { ...decision, by: who.accountId });
      await audit.record(tx, {
        actor: who,
        action: decision.status === 'completed' ? 'withdrawal.complete' : 'withdrawal.reject',
        subject: id,
        reason: decision.status === 'rejected' ? decision.reason : null,
        details: { accountId: found.accountId, amount: found.amount, ...(decision.status === 'completed' ? { reference: decision.reference } : {}) },
      });
      return decided;
    });
  }

  return {
    view,

    /** An account's wallet, for staff: 404 for an unknown account. */
    async viewAccount(accountId: string): Promise<WalletView> {
      if (!(await wallets.accountExists(db, accountId))) throw notFound(`account ${accountId} does not exist`);
      return view(accountId);
    },

    /** Money from outside into an account's wallet (staff, audited). */
    async credit(who: Principal, accountId: string, body: { amount: string | number; reference: string }): Promise<WalletView> {
      const amount = positiveAmount(body.amount);
      const reference = text(body.reference, 'body.reference', 'the outside payment');
      await db.transaction(async (tx) => {
        const head = (await wallets.lockWallets(tx, [accountId])).get(accountId);
        if (!head) throw notFound(`account ${accountId} does not exist`);
        await wallets.appendToWallet(tx, accountId, head, [rules.credit(head, amount, reference)]);
        await audit.record(tx, { actor: who, action: 'wallet.credit', subject: accountId, details: { amount: fromUnits(amount), reference } });
      });
      return view(accountId);
    },

    /** An author asks to take money out: the amount is held until staff decide (409 above what is available). */
    async requestWithdrawal(who: Principal, body: { amount: string | number }): Promise<WithdrawalRow> {
      const amount = positiveAmount(body.amount);
      try {
        return await db.transaction(async (tx) => {
          const head = (await wallets.lockWallets(tx, [who.accountId])).get(who.accountId)!;
          if (amount > rules.available(head)) throw new InsufficientFunds(rules.available(head), amount);
          const withdrawal = await wallets.insertWithdrawal(tx, who.accountId, fromUnits(amount));
          await wallets.appendToWallet(tx, who.accountId, head, [rules.hold(head, amount, withdrawal.id)]);
          return withdrawal;
        });
      } catch (error) {
        if (error instanceof InsufficientFunds) throw insufficientFunds(fromUnits(error.available), fromUnits(error.needed), 'withdraw less');
        throw error;
      }
    },

    async listWithdrawals(query: { status?: WithdrawalStatus; accountId?: string; limit: number }): Promise<WithdrawalRow[]> {
      return wallets.listWithdrawals(db, query);
    },

    async complete(who: Principal, id: string, reference: string) {
      return decide(who, id, { status: 'completed', reference: text(reference, 'body.reference', 'the outside payment') });
    },

    async reject(who: Principal, id: string, reason: string) {
      return decide(who, id, { status: 'rejected', reason: text(reason, 'body.reason', 'why it is rejected') });
    },
  };
}

export type WalletsService = ReturnType<typeof walletsService>;
