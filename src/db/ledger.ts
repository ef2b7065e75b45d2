import { sql } from 'drizzle-orm';
import { fromUnits, toUnits } from '../domain/decimal.js';
import * as rules from '../domain/stake.js';
import type { LedgerSettlement } from '../domain/reconcile.js';
import type { Entry, OpenRelease, StakeHead } from '../domain/stake.js';
import type { StakeFunding } from '../domain/wallet.js';
import type { Executor } from './client.js';
import { LOCK_CLASS } from './locks.js';
import { payStake, returnReleases } from './wallets.js';
import { emitEvents } from './events.js';
import { ledgerEvents } from '../domain/events.js';

/**
 * The stake ledger's data access (tables in migrations/0004): every movement of a model's stake
 * is an entry written here, by the rules of domain/stake.ts, inside the caller's transaction.
 *
 * Serialisation: writers of entries hold the stake lock, an advisory lock shared by stake
 * changes and taken exclusively by closes and resolutions, and each entry is stamped inside it
 * (clock_timestamp()). A close takes it before stamping closedAt, so every entry stamped at or
 * before closedAt has committed when the close reads the at-risk snapshot and every later one
 * is stamped after closedAt. A resolution takes it so no release can be requested on an era
 * while its releases are being completed. Changes of one model queue on its row lock.
 */

/** For stake changes: concurrent with each other, never with a close or a resolution. */
export async function lockForStakeChange(tx: Executor) {
  await tx.execute(sql`select pg_advisory_xact_lock_shared(${LOCK_CLASS.stake}, 0)`);
}

/** For closes and resolutions: waits for stake changes in flight, keeps new ones out until commit. */
export async function lockStakes(tx: Executor) {
  await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.stake}, 0)`);
}

type Row = Record<string, unknown>;

async function headsOf(tx: Executor, modelIds: readonly string[]): Promise<Map<string, StakeHead>> {
  const heads = new Map<string, StakeHead>();
  if (modelIds.length === 0) return heads;
  const { rows } = await tx.execute<{ model_id: string; seq: number; amount: string; balance: string }>(sql`
    select distinct on (model_id) model_id, seq, amount::text, balance::text
    from stake_entries where model_id = any(${sql.param(modelIds)}::uuid[]) order by model_id, seq desc`);
  for (const r of rows) heads.set(r.model_id, { seq: r.seq, amount: toUnits(r.amount), balance: toUnits(r.balance) });
  return heads;
}

/** Pending releases of each model, oldest first. */
async function openReleasesOf(tx: Executor, modelIds: readonly string[]): Promise<Map<string, OpenRelease[]>> {
  const open = new Map<string, OpenRelease[]>();
  if (modelIds.length === 0) return open;
  const { rows } = await tx.execute<{ id: string; model_id: string; remaining: string }>(sql`
    select id::text, model_id, remaining::text from stake_releases
    where model_id = any(${sql.param(modelIds)}::uuid[]) and released_at is null order by model_id, id`);
  for (const r of rows) open.set(r.model_id, [...(open.get(r.model_id) ?? []), { id: r.id, remaining: toUnits(r.remaining) }]);
  return open;
}

interface Written {
  modelId: string;
  previous: StakeHead;
  entry: Entry;
  /** when the entry is stamped; the insert's clock_timestamp() when absent */
  at?: string;
}

/** One multi-row insert; each entry names the one before it, which the database checks. */
async function insertEntries(tx: Executor, written: readonly Written[]) {
  if (written.length === 0) return;
  const column = <T>(f: (w: Written) => T) => sql.param(written.map(f));
  await tx.execute(sql`
    insert into stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, release_id, note, at)
    select model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, release_id, note, coalesce(at, clock_timestamp())
    from unnest(
      ${column((w) => w.modelId)}::uuid[], ${column((w) => w.entry.seq)}::int[], ${column((w) => w.entry.kind)}::text[],
      ${column((w) => fromUnits(w.entry.delta))}::numeric[], ${column((w) => fromUnits(w.entry.amount))}::numeric[],
      ${column((w) => fromUnits(w.entry.balance))}::numeric[],
      ${column((w) => (w.previous.seq === 0 ? null : w.previous.seq))}::int[],
      ${column((w) => (w.previous.seq === 0 ? null : fromUnits(w.previous.amount)))}::numeric[],
      ${column((w) => (w.previous.seq === 0 ? null : fromUnits(w.previous.balance)))}::numeric[],
      ${column((w) => w.entry.era)}::int[], ${column((w) => w.entry.releaseId)}::bigint[], ${column((w) => w.entry.note)}::text[],
      ${column((w) => w.at ?? null)}::timestamptz[])
      as u(model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, release_id, note, at)`);
}

/**
 * Eras the model has stake at risk in right now, with the amount: closed and in the closing run's
 * inputs, or past closesAt and not closed yet, with an on-time submission and an amount at closesAt.
 */
async function erasAtRisk(tx: Executor, modelId: string): Promise<{ era: number; amount: string }[]> {
  const { rows } = await tx.execute<{ era: number; amount: string }>(sql`
    select era, amount from (
      select r.era_number as era, ri.stake::text as amount
      from run_inputs ri
      join meta_model_runs r on r.id = ri.run_id and r.seq = 1
      join eras e on e.number = r.era_number and e.resolved_at is null
      where ri.model_id = ${modelId} and ri.stake > 0
      union all
      select e.number, at_cutoff.amount::text
      from eras e
      join submissions s on s.era_number = e.number and s.model_id = ${modelId} and not s.late and not s.superseded
      cross join lateral (
        select se.amount from stake_entries se where se.model_id = ${modelId} and se.at <= e.closes_at order by se.seq desc limit 1
      ) at_cutoff
      where e.closed_at is null and e.resolved_at is null and e.closes_at <= clock_timestamp() and at_cutoff.amount > 0
    ) w order by era`);
  return rows;
}

/**
 * The instant a stake change is stamped at, read inside the stake lock: a close that stamped its
 * closedAt before it has committed, and any close after it stamps a later closedAt.
 */
async function stampInsideLock(tx: Executor): Promise<string> {
  const { rows } = await tx.execute<{ at: string }>(sql`select clock_timestamp()::text as at`);
  return rows[0].at;
}

/**
 * The eras a release requested at \`at\` waits for: those the model is at risk in (closed, in the
 * closing run's inputs), and every unresolved era whose cutoff (closesAt, or an earlier close)
 * has passed but that has not closed yet: its snapshot will take the amount at closesAt, before
 * this change, whoever closes it and whenever.
 */
async function erasAReleaseWaitsFor(tx: Executor, modelId: string, at: string): Promise<number[]> {
  const { rows } = await tx.execute<{ era: number }>(sql`
    select era from (
      select r.era_number as era
      from run_inputs ri
      join meta_model_runs r on r.id = ri.run_id and r.seq = 1
      join eras e on e.number = r.era_number and e.resolved_at is null
      where ri.model_id = ${modelId} and ri.stake > 0
      union
      select e.number from eras e
      where e.closed_at is null and e.resolved_at is null and e.universe_digest is not null
        and e.closes_at < ${at}::timestamptz
    ) w order by era`);
  return rows.map((r) => r.era);
}

/**
 * Sets a model's amount (an exact decimal ≥ 0): a deposit when it rises, paid from the owner's
 * wallet (db/wallets.ts `payStake`; InsufficientFunds when it is short); when it falls, a pending
 * release that waits for every era the model has stake at risk in, released at once (back into
 * the wallet) if none. Takes the stake lock, the model row (NO KEY UPDATE: submissions referencing
 * the model go on) and then its owner's wallet.
 */
export async function changeAmount(tx: Executor, modelId: string, target: string, funding: StakeFunding): Promise<void> {
  await lockForStakeChange(tx);
  const { rows: owner } = await tx.execute<{ account_id: string }>(sql`select account_id from models where id = ${modelId} for no key update`);
  const accountId = owner[0].account_id;
  const head = (await headsOf(tx, [modelId])).get(modelId) ?? rules.EMPTY_HEAD;
  const change = rules.changeAmount(head, toUnits(target));
  if (!change) return;
  if (change.entry.kind === 'deposit') {
    await payStake(tx, accountId, modelId, change.entry.delta, funding);
    return insertEntries(tx, [{ modelId, previous: head, entry: change.entry }]);
  }

  const at = await stampInsideLock(tx);
  const waits = await erasAReleaseWaitsFor(tx, modelId, at);
  const amount = fromUnits(change.release);
  const { rows } = await tx.execute<{ id: string }>(sql`
    insert into stake_releases (model_id, amount, remaining) values (${modelId}, ${amount}, ${amount}) returning id::text`);
  const releaseId = rows[0].id;
  if (waits.length > 0) {
    await tx.execute(sql`
      insert into stake_release_eras (release_id, era_number) select ${releaseId}, unnest(${sql.param(waits)}::int[])`);
  }
  const requested = { ...change.entry, releaseId };
  const written: Written[] = [{ modelId, previous: head, entry: requested, at }];
  if (waits.length === 0) {
    const after = rules.headAfter(requested);
    written.push({ modelId, previous: after, entry: rules.release(after, { id: releaseId, remaining: change.release }, null), at });
    await tx.execute(sql`update stake_releases set released_at = clock_timestamp() where id = ${releaseId}`);
    await returnReleases(tx, [{ accountId, modelId, amount: change.release }]);
  }
  await insertEntries(tx, written);
  await emitEvents(tx, ledgerEvents(written));
}

export interface EraPayout {
  modelId: string;
  /** exact decimal, negative for a burn */
  payout: string;
}

/**
 * Applies an era's resolution to the ledger, inside the resolving transaction (which holds the
 * era row): each payout or burn once (the unique (model, era) index backs this up), then every
 * pending release whose last awaited era is this one leaves its model for its owner's wallet.
 * Takes the stake lock exclusively, then the owners' wallets. Returns Σ delta of the era's payouts
 * and burns, what actually moved.
 */
export async function applyEraResolution(tx: Executor, era: number, payouts: readonly EraPayout[]): Promise<{ entries: number; total: string }> {
  await lockStakes(tx);
  const { written, touched, returns, total } = await planEraResolution(tx, era, payouts);
  // What burns left of each release goes back to its owner's wallet.
  await returnReleases(tx, returns);

  if (touched.size > 0) {
    const ids = [...touched.keys()];
    await tx.execute(sql`
      update stake_releases r set remaining = u.remaining, released_at = case when u.released then clock_timestamp() end
      from unnest(${sql.param(ids)}::bigint[], ${sql.param(ids.map((id) => fromUnits(touched.get(id)!.remaining)))}::numeric[],
                  ${sql.param(ids.map((id) => touched.get(id)!.released))}::boolean[]) as u(id, remaining, released)
      where r.id = u.id`);
  }
  await insertEntries(tx, written);
  await emitEvents(tx, ledgerEvents(written));
  return { entries: written.length, total: fromUnits(total) };
}

/**
 * What an era's resolution would move, read and computed without writing: the ledger entries
 * (payouts and burns as settled against each model's balance, then the releases due), the
 * releases they touch and the wallet returns. applyEraResolution writes exactly this; a dry run
 * reads `settled` (each paying model's delta) and `total`.
 */
export async function planEraResolution(tx: Executor, era: number, payouts: readonly EraPayout[]) {
  const { rows: due } = await tx.execute<{ id: string; model_id: string; account_id: string }>(sql`
    select r.id::text, r.model_id, m.account_id from stake_releases r join models m on m.id = r.model_id
    where r.released_at is null
      and exists (select 1 from stake_release_eras w where w.release_id = r.id and w.era_number = ${era})
      and not exists (
        select 1 from stake_release_eras w join eras e on e.number = w.era_number
        where w.release_id = r.id and w.era_number <> ${era} and e.resolved_at is null)
    order by r.model_id, r.id`);
  const modelIds = [...new Set([...payouts.map((p) => p.modelId), ...due.map((r) => r.model_id)])];
  const heads = await headsOf(tx, modelIds);
  const open = await openReleasesOf(tx, modelIds);
  const touched = new Map<string, { remaining: bigint; released: boolean }>();
  const written: Written[] = [];
  let total = 0n;

  const append = (modelId: string, entry: Entry) => {
    written.push({ modelId, previous: heads.get(modelId) ?? rules.EMPTY_HEAD, entry });
    heads.set(modelId, rules.headAfter(entry));
  };
  const settled = new Map<string, bigint>();
  for (const { modelId, payout } of [...payouts].sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0))) {
    const releases = open.get(modelId) ?? [];
    const { entry, taken } = rules.settle(heads.get(modelId) ?? rules.EMPTY_HEAD, releases, era, toUnits(payout));
    for (const { id, amount } of taken) {
      const release = releases.find((r) => r.id === id)!;
      release.remaining -= amount;
      touched.set(id, { remaining: release.remaining, released: false });
    }
    append(modelId, entry);
    settled.set(modelId, entry.delta);
    total += entry.delta;
  }
  const returns: { accountId: string; modelId: string; amount: bigint }[] = [];
  for (const { id, model_id: modelId, account_id: accountId } of due) {
    const release = (open.get(modelId) ?? []).find((r) => r.id === id)!;
    append(modelId, rules.release(heads.get(modelId)!, release, era));
    touched.set(id, { remaining: release.remaining, released: true });
    returns.push({ accountId, modelId, amount: release.remaining });
  }
  return { written, touched, returns, settled, total };
}

/** Σ delta of an era's payouts and burns (0 before it resolves). */
export async function eraTotal(tx: Executor, era: number): Promise<string> {
  const { rows } = await tx.execute<{ total: string }>(sql`
    select coalesce(sum(delta), 0)::text as total from stake_entries where era_number = ${era} and kind in ('payout', 'burn')`);
  return fromUnits(toUnits(rows[0].total));
}

/**
 * The at-risk snapshot of a closing era, into the run's inputs: each model with a current on-time
 * submission and, as its stake, the amount of its last entry stamped at or before closedAt, if
 * positive. The caller holds the stake lock (lockStakes) and stamped closedAt inside it.
 */
export async function snapshotAtRisk(tx: Executor, era: number, runId: string) {
  await tx.execute(sql`
    insert into run_inputs (run_id, model_id, submission_id, sha256, stake, era_number)
    select ${runId}, s.model_id, s.id, s.sha256, stake.amount, s.era_number
    from eras e
    join submissions s on s.era_number = e.number and not s.late and not s.superseded
    cross join lateral (
      select se.amount from stake_entries se
      where se.model_id = s.model_id and se.at <= e.closed_at
      order by se.seq desc limit 1
    ) stake
    where e.number = ${era} and stake.amount > 0`);
}

/** Current amounts of the given models ("0" for a model with no entry). */
export async function currentAmounts(tx: Executor, modelIds: readonly string[]): Promise<Map<string, string>> {
  const heads = await headsOf(tx, modelIds);
  return new Map(modelIds.map((id) => [id, fromUnits(heads.get(id)?.amount ?? 0n)]));
}

export interface StakeView {
  modelId: string;
  amount: string;
  balance: string;
  releasing: string;
  atRisk: { era: number; amount: string }[];
  pendingReleases: { amount: string; requestedAt: Date; waitsForEras: number[] }[];
  history: { at: Date; kind: rules.EntryKind; delta: string; amount: string; balance: string; era: number | null; note: string | null }[];
}

const plain = (decimal: string) => fromUnits(toUnits(decimal));

/** A model's stake as the OpenAPI document serves it; run it in one snapshot (REPEATABLE READ) for a consistent view. */
export async function view(tx: Executor, modelId: string): Promise<StakeView> {
  const { rows: history } = await tx.execute<Row & { at: string | Date; kind: rules.EntryKind; delta: string; amount: string; balance: string; era: number | null; note: string | null }>(sql`
    select at, kind, delta::text, amount::text, balance::text, era_number as era, note
    from stake_entries where model_id = ${modelId} order by seq`);
  const { rows: pending } = await tx.execute<{ amount: string; requested_at: string | Date; waits: number[] | null }>(sql`
    select r.remaining::text as amount, r.requested_at,
           array(select w.era_number from stake_release_eras w join eras e on e.number = w.era_number
                 where w.release_id = r.id and e.resolved_at is null order by w.era_number) as waits
    from stake_releases r where r.model_id = ${modelId} and r.released_at is null order by r.id`);
  const last = history.at(-1);
  const amount = last ? toUnits(last.amount) : 0n;
  const balance = last ? toUnits(last.balance) : 0n;
  return {
    modelId,
    amount: fromUnits(amount),
    balance: fromUnits(balance),
    releasing: fromUnits(balance - amount),
    atRisk: (await erasAtRisk(tx, modelId)).map((r) => ({ era: r.era, amount: plain(r.amount) })),
    pendingReleases: pending.map((r) => ({ amount: plain(r.amount), requestedAt: new Date(r.requested_at), waitsForEras: r.waits ?? [] })),
    history: history.map((e) => ({
      at: new Date(e.at),
      kind: e.kind,
      delta: plain(e.delta),
      amount: plain(e.amount),
      balance: plain(e.balance),
      era: e.era,
      note: e.note,
    })),
  };
}

/** Eras the ledger holds payouts or burns for, in order. */
export async function settledEras(executor: Executor): Promise<number[]> {
  const { rows } = await executor.execute<{ era: number }>(sql`
    select distinct era_number as era from stake_entries where kind in ('payout', 'burn') and era_number is not null order by 1`);
  return rows.map((r) => r.era);
}

/** The payouts and burns of an era by model name, in name order. */
export async function eraSettlements(executor: Executor, era: number): Promise<LedgerSettlement[]> {
  const { rows } = await executor.execute<LedgerSettlement>(sql`
    select m.name as model, e.kind, e.delta::text as delta, e.note
    from stake_entries e join models m on m.id = e.model_id
    where e.era_number = ${era} and e.kind in ('payout', 'burn')
    order by m.name`);
  return rows;
}
