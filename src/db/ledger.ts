import { type SQL, sql } from 'drizzle-orm';
import { fromUnits, toUnits } from '../domain/decimal.js';
import type { LedgerSettlement } from '../domain/reconcile.js';
import type { WrittenEntry, TouchedRelease } from '../domain/settlement.js';
import type { EntryKind, OpenRelease, StakeHead } from '../domain/stake.js';
import type { Executor } from './client.js';
import { LOCK_CLASS } from './locks.js';

/**
 * The stake ledger's data access (tables in migrations/0004): every movement of a model's stake
 * is an entry written here, inside the caller's transaction; the entries come from the rules of
 * domain/stake.ts and domain/settlement.ts, applied by services/settlement.ts.
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

/**
 * What a close takes, the one definition (a FROM clause over eras `e`): each current on-time
 * submission `s` of the era with, as `stake.amount`, the amount of its model's last entry stamped
 * at or before the cutoff, when positive. The cutoff is the era's `closed_at` (a close),
 * its `closes_at` (an era past its deadline not closed yet) or `now` (the latest entry: an open era's
 * preview). The caller picks the era (`e.number = …`); the lateral reads one entry by the (model, seq) index.
 */
export function closeTakes(cutoff: 'closed_at' | 'closes_at' | 'now'): string {
  const stamped = cutoff === 'now' ? '' : `and se.at <= e.${cutoff}`;
  return `eras e
    join submissions s on s.era_number = e.number and not s.late and not s.superseded
    join lateral (
      select se.amount from stake_entries se where se.model_id = s.model_id ${stamped} order by se.seq desc limit 1
    ) stake on stake.amount > 0`;
}

/** Each model's latest entry (models without one are absent), one index probe per model however long its history. */
export async function stakeHeads(tx: Executor, modelIds: readonly string[]): Promise<Map<string, StakeHead>> {
  const heads = new Map<string, StakeHead>();
  if (modelIds.length === 0) return heads;
  const { rows } = await tx.execute<{ model_id: string; seq: number; amount: string; balance: string }>(sql`
    select m.id as model_id, se.seq, se.amount::text, se.balance::text
    from unnest(${sql.param([...new Set(modelIds)])}::uuid[]) as m(id)
    cross join lateral (select seq, amount, balance from stake_entries where model_id = m.id order by seq desc limit 1) se`);
  for (const r of rows) heads.set(r.model_id, { seq: r.seq, amount: toUnits(r.amount), balance: toUnits(r.balance) });
  return heads;
}

/** Pending releases of each model, oldest first. */
export async function openReleases(tx: Executor, modelIds: readonly string[]): Promise<Map<string, OpenRelease[]>> {
  const open = new Map<string, OpenRelease[]>();
  if (modelIds.length === 0) return open;
  const { rows } = await tx.execute<{ id: string; model_id: string; remaining: string }>(sql`
    select id::text, model_id, remaining::text from stake_releases
    where model_id = any(${sql.param(modelIds)}::uuid[]) and released_at is null order by model_id, id`);
  for (const r of rows) open.set(r.model_id, [...(open.get(r.model_id) ?? []), { id: r.id, remaining: toUnits(r.remaining) }]);
  return open;
}

/** One multi-row insert; each entry names the one before it, which the database checks. */
export async function insertStakeEntries(tx: Executor, written: readonly WrittenEntry[]) {
  if (written.length === 0) return;
  const column = <T>(f: (w: WrittenEntry) => T) => sql.param(written.map(f));
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
 * The closed, unresolved eras whose closing run took the model's stake (`era`, `amount`): the one
 * definition both erasAtRisk and erasAReleaseWaitsFor start from. They differ after it on purpose:
 * an era past closesAt but not closed is at risk from closesAt (what its close will take), while a
 * release waits for it when closesAt came before the release was requested.
 */
function closedAtRisk(modelId: string, unresolved: SQL) {
  return sql`
      select r.era_number as era, ri.stake::text as amount
      from eras e
      join meta_model_runs r on r.era_number = e.number and r.seq = 1
      join run_inputs ri on ri.era_number = e.number and ri.run_id = r.id and ri.model_id = ${modelId}
      where e.resolved_at is null and ri.stake > 0 and ri.era_number = any(${unresolved})`;
}

/**
 * The unresolved eras, as an array value: the only eras a stake can be at risk in. The queries
 * below name them on the partitioned tables, so the planner reads those eras' partitions only
 * (a join to eras alone would plan, and lock, a partition for every era ever made).
 */
async function unresolvedEras(tx: Executor): Promise<SQL> {
  const { rows } = await tx.execute<{ number: number }>(sql`select number from eras where resolved_at is null`);
  return sql`${sql.param(rows.map((r) => r.number))}::int[]`;
}

/**
 * Eras the model has stake at risk in right now, with the amount: closed and in the closing run's
 * inputs, or past closesAt and not closed yet, what a close would take at closesAt.
 */
async function erasAtRisk(tx: Executor, modelId: string): Promise<{ era: number; amount: string }[]> {
  const unresolved = await unresolvedEras(tx);
  const { rows } = await tx.execute<{ era: number; amount: string }>(sql`
    select era, amount from (
      ${closedAtRisk(modelId, unresolved)}
      union all
      select e.number, stake.amount::text
      from ${sql.raw(closeTakes('closes_at'))}
      where s.model_id = ${modelId} and e.closed_at is null and e.resolved_at is null and e.closes_at <= clock_timestamp()
        and s.era_number = any(${unresolved})
    ) w order by era`);
  return rows;
}

/**
 * The instant a stake change is stamped at, read inside the stake lock: a close that stamped its
 * closedAt before it has committed, and any close after it stamps a later closedAt.
 */
export async function stampInsideLock(tx: Executor): Promise<string> {
  const { rows } = await tx.execute<{ at: string }>(sql`select clock_timestamp()::text as at`);
  return rows[0].at;
}

/**
 * The eras a release requested at \`at\` waits for: those the model is at risk in (closed, in the
 * closing run's inputs), and every unresolved era whose cutoff (closesAt, or an earlier close)
 * has passed but that has not closed yet: its snapshot will take the amount at closesAt, before
 * this change, whoever closes it and whenever.
 */
export async function erasAReleaseWaitsFor(tx: Executor, modelId: string, at: string): Promise<number[]> {
  const { rows } = await tx.execute<{ era: number }>(sql`
    select era from (
      select era from (${closedAtRisk(modelId, await unresolvedEras(tx))}) closed
      union
      select e.number from eras e
      where e.closed_at is null and e.resolved_at is null and e.universe_digest is not null
        and e.closes_at < ${at}::timestamptz
    ) w order by era`);
  return rows.map((r) => r.era);
}

/** A pending release of `amount` units waiting for `eras` (none: it is released by the caller at once); returns its id. */
export async function insertRelease(tx: Executor, modelId: string, amount: bigint, eras: readonly number[]): Promise<string> {
  const { rows } = await tx.execute<{ id: string }>(sql`
    insert into stake_releases (model_id, amount, remaining) values (${modelId}, ${fromUnits(amount)}, ${fromUnits(amount)}) returning id::text`);
  if (eras.length > 0) {
    await tx.execute(sql`insert into stake_release_eras (release_id, era_number) select ${rows[0].id}, unnest(${sql.param(eras)}::int[])`);
  }
  return rows[0].id;
}

/** Writes what settlement left of releases: their remaining amounts, and the release time of those that left. */
export async function updateReleases(tx: Executor, touched: ReadonlyMap<string, TouchedRelease>) {
  if (touched.size === 0) return;
  const ids = [...touched.keys()];
  await tx.execute(sql`
    update stake_releases r set remaining = u.remaining, released_at = case when u.released then clock_timestamp() end
    from unnest(${sql.param(ids)}::bigint[], ${sql.param(ids.map((id) => fromUnits(touched.get(id)!.remaining)))}::numeric[],
                ${sql.param(ids.map((id) => touched.get(id)!.released))}::boolean[]) as u(id, remaining, released)
    where r.id = u.id`);
}

/** Pending releases whose last unresolved awaited era is `era`, with their owners, by model then id. */
export async function releasesDue(tx: Executor, era: number): Promise<{ id: string; modelId: string; accountId: string }[]> {
  const { rows } = await tx.execute<{ id: string; modelId: string; accountId: string }>(sql`
    select r.id::text, r.model_id as "modelId", m.account_id as "accountId" from stake_releases r join models m on m.id = r.model_id
    where r.released_at is null
      and exists (select 1 from stake_release_eras w where w.release_id = r.id and w.era_number = ${era})
      and not exists (
        select 1 from stake_release_eras w join eras e on e.number = w.era_number
        where w.release_id = r.id and w.era_number <> ${era} and e.resolved_at is null)
    order by r.model_id, r.id`);
  return rows;
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
    from ${sql.raw(closeTakes('closed_at'))}
    where e.number = ${era}`);
}

/** Current amounts of the given models ("0" for a model with no entry). */
export async function currentAmounts(tx: Executor, modelIds: readonly string[]): Promise<Map<string, string>> {
  const heads = await stakeHeads(tx, modelIds);
  return new Map(modelIds.map((id) => [id, fromUnits(heads.get(id)?.amount ?? 0n)]));
}

export interface StakeView {
  modelId: string;
  amount: string;
  balance: string;
  releasing: string;
  atRisk: { era: number; amount: string }[];
  pendingReleases: { amount: string; requestedAt: Date; waitsForEras: number[] }[];
  history: { at: Date; kind: EntryKind; delta: string; amount: string; balance: string; era: number | null; note: string | null }[];
}

const plain = (decimal: string) => fromUnits(toUnits(decimal));

/** A model's stake as the OpenAPI document serves it; run it in one snapshot (REPEATABLE READ) for a consistent view. */
export async function view(tx: Executor, modelId: string): Promise<StakeView> {
  const { rows: history } = await tx.execute<{ at: string | Date; kind: EntryKind; delta: string; amount: string; balance: string; era: number | null; note: string | null }>(sql`
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
