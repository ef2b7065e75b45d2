import { sql } from 'drizzle-orm';
import { fromUnits, toUnits } from '../domain/decimal.js';
import { type MoneyTotals, type WalletEntryKind, type WalletHead, type WrittenWalletEntry } from '../domain/wallet.js';
import type { Executor } from './client.js';

/**
 * Wallets' data access (tables in migrations/0011): every movement of an account's wallet is an
 * entry written here, inside the caller's transaction; the entries come from the rules of
 * domain/wallet.ts, applied by the services (services/wallets.ts, services/settlement.ts).
 *
 * Serialisation: writers lock the wallet's account row (FOR NO KEY UPDATE, so rows referencing the
 * account go on), several in id order. Stake changes lock the model first (services/settlement.ts) and its
 * owner's account second; nothing locks them the other way round.
 */

/** Locks the wallets of the given accounts (in id order) and returns their heads; an unknown account has none. */
export async function lockWallets(tx: Executor, accountIds: readonly string[]): Promise<Map<string, WalletHead>> {
  const heads = new Map<string, WalletHead>();
  const ids = [...new Set(accountIds)].sort();
  if (ids.length === 0) return heads;
  const { rows: locked } = await tx.execute<{ id: string }>(sql`
    select id from accounts where id = any(${sql.param(ids)}::uuid[]) order by id for no key update`);
  // An account with no entry yet: its wallet is empty (seq 0, nothing held).
  for (const { id } of locked) heads.set(id, { seq: 0, balance: 0n, held: 0n });
  // Each wallet's latest entry only, by the (account, seq) index however long its history.
  const { rows } = await tx.execute<{ account_id: string; seq: number; balance: string; held: string }>(sql`
    select a.id as account_id, w.seq, w.balance::text, w.held::text
    from unnest(${sql.param(ids)}::uuid[]) as a(id)
    cross join lateral (select seq, balance, held from wallet_entries where account_id = a.id order by seq desc limit 1) w`);
  for (const r of rows) heads.set(r.account_id, { seq: r.seq, balance: toUnits(r.balance), held: toUnits(r.held) });
  return heads;
}

export type { WrittenWalletEntry };

/** One multi-row insert; each entry names the one before it, which the database checks. */
export async function insertWalletEntries(tx: Executor, written: readonly WrittenWalletEntry[]) {
  if (written.length === 0) return;
  const column = <T>(f: (w: WrittenWalletEntry) => T) => sql.param(written.map(f));
  const first = (w: WrittenWalletEntry) => w.entry.seq === 1;
  await tx.execute(sql`
    insert into wallet_entries (account_id, seq, kind, delta, balance, held, prev_seq, prev_balance, prev_held, model_id, withdrawal_id, reference)
    select * from unnest(
      ${column((w) => w.accountId)}::uuid[], ${column((w) => w.entry.seq)}::int[], ${column((w) => w.entry.kind)}::text[],
      ${column((w) => fromUnits(w.entry.delta))}::numeric[], ${column((w) => fromUnits(w.entry.balance))}::numeric[],
      ${column((w) => fromUnits(w.entry.held))}::numeric[],
      ${column((w) => (first(w) ? null : w.entry.seq - 1))}::int[],
      ${column((w) => (first(w) ? null : fromUnits(w.previous.balance)))}::numeric[],
      ${column((w) => (first(w) ? null : fromUnits(w.previous.held)))}::numeric[],
      ${column((w) => w.entry.modelId)}::uuid[], ${column((w) => w.entry.withdrawalId)}::uuid[], ${column((w) => w.entry.reference)}::text[])`);
}

export async function accountExists(tx: Executor, accountId: string): Promise<boolean> {
  const { rows } = await tx.execute(sql`select 1 from accounts where id = ${accountId}`);
  return rows.length > 0;
}

export type WithdrawalStatus = 'pending' | 'completed' | 'rejected';
export const WITHDRAWAL_STATUSES: readonly WithdrawalStatus[] = ['pending', 'completed', 'rejected'];

export type WithdrawalRow = {
  id: string;
  accountId: string;
  amount: string;
  status: WithdrawalStatus;
  requestedAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  reference: string | null;
  reason: string | null;
};

const withdrawalColumns = sql`id, account_id as "accountId", trim_scale(amount)::text as amount, status, requested_at as "requestedAt",
  decided_at as "decidedAt", decided_by as "decidedBy", reference, reason`;

function withdrawalRow(r: WithdrawalRow & { requestedAt: Date | string; decidedAt: Date | string | null }): WithdrawalRow {
  return { ...r, requestedAt: new Date(r.requestedAt), decidedAt: r.decidedAt === null ? null : new Date(r.decidedAt) };
}

export async function insertWithdrawal(tx: Executor, accountId: string, amount: string): Promise<WithdrawalRow> {
  const { rows } = await tx.execute<WithdrawalRow>(sql`
    insert into withdrawals (account_id, amount) values (${accountId}, ${amount}) returning ${withdrawalColumns}`);
  return withdrawalRow(rows[0]);
}

/** A withdrawal, locked for its decision when `forUpdate`. */
export async function findWithdrawal(tx: Executor, id: string, forUpdate = false): Promise<WithdrawalRow | undefined> {
  const { rows } = await tx.execute<WithdrawalRow>(sql`
    select ${withdrawalColumns} from withdrawals where id = ${id} ${forUpdate ? sql`for update` : sql``}`);
  return rows[0] && withdrawalRow(rows[0]);
}

export async function decideWithdrawal(
  tx: Executor,
  id: string,
  decision: { status: 'completed'; reference: string; by: string } | { status: 'rejected'; reason: string; by: string },
): Promise<WithdrawalRow> {
  const { rows } = await tx.execute<WithdrawalRow>(sql`
    update withdrawals set status = ${decision.status}, decided_at = clock_timestamp(), decided_by = ${decision.by},
      reference = ${decision.status === 'completed' ? decision.reference : null}, reason = ${decision.status === 'rejected' ? decision.reason : null}
    where id = ${id} and status = 'pending' returning ${withdrawalColumns}`);
  return withdrawalRow(rows[0]);
}

/** Withdrawals oldest first, of one status or all; at most `limit`. */
export async function listWithdrawals(tx: Executor, query: { status?: WithdrawalStatus; accountId?: string; limit: number }): Promise<WithdrawalRow[]> {
  const { rows } = await tx.execute<WithdrawalRow>(sql`
    select ${withdrawalColumns} from withdrawals
    where (${query.status ?? null}::text is null or status = ${query.status ?? null})
      and (${query.accountId ?? null}::uuid is null or account_id = ${query.accountId ?? null})
    order by requested_at, id limit ${query.limit}`);
  return rows.map(withdrawalRow);
}

/** An account's wallet as stored: its head (balance and held, as of its latest entry) and its entries. */
export interface StoredWallet {
  head: WalletHead;
  entries: {
    at: Date;
    kind: WalletEntryKind;
    delta: string;
    balance: string;
    modelId: string | null;
    withdrawalId: string | null;
    reference: string | null;
  }[];
}

/** An account's wallet and its entries; run it in one snapshot for a consistent view. */
export async function storedWallet(tx: Executor, accountId: string): Promise<StoredWallet> {
  const { rows } = await tx.execute<{
    at: Date | string;
    kind: WalletEntryKind;
    delta: string;
    balance: string;
    held: string;
    model_id: string | null;
    withdrawal_id: string | null;
    reference: string | null;
  }>(sql`
    select at, kind, delta::text, balance::text, held::text, model_id, withdrawal_id, reference
    from wallet_entries where account_id = ${accountId} order by seq`);
  const last = rows.at(-1);
  const plain = (decimal: string) => fromUnits(toUnits(decimal));
  return {
    head: last ? { seq: rows.length, balance: toUnits(last.balance), held: toUnits(last.held) } : { seq: 0, balance: 0n, held: 0n },
    entries: rows.map((e) => ({
      at: new Date(e.at),
      kind: e.kind,
      delta: plain(e.delta),
      balance: plain(e.balance),
      modelId: e.model_id,
      withdrawalId: e.withdrawal_id,
      reference: e.reference,
    })),
  };
}

/** The terms of the conservation identity, read in one statement (one snapshot); each head by one index probe. */
export async function moneyTotals(tx: Executor): Promise<MoneyTotals> {
  const { rows } = await tx.execute<Record<keyof MoneyTotals, string>>(sql`
    select
      (select coalesce(sum(w.balance), 0) from accounts a
         cross join lateral (select balance from wallet_entries where account_id = a.id order by seq desc limit 1) w)::text as wallets,
      (select coalesce(sum(e.balance), 0) from models m
         cross join lateral (select balance from stake_entries where model_id = m.id order by seq desc limit 1) e)::text as models,
      (select coalesce(sum(delta), 0) from wallet_entries where kind = 'credit')::text as credits,
      (select coalesce(sum(amount), 0) from withdrawals where status = 'completed')::text as withdrawn,
      (select coalesce(sum(delta), 0) from stake_entries where kind = 'payout')::text as payouts,
      (select coalesce(-sum(delta), 0) from stake_entries where kind = 'burn')::text as burns`);
  const r = rows[0];
  return {
    wallets: toUnits(r.wallets),
    models: toUnits(r.models),
    credits: toUnits(r.credits),
    withdrawn: toUnits(r.withdrawn),
    payouts: toUnits(r.payouts),
    burns: toUnits(r.burns),
  };
}
