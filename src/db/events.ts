import { sql } from 'drizzle-orm';
import type { NewEvent, Openings } from '../domain/events.js';
import type { Executor } from './client.js';

/**
 * The events outbox (migration 0017). emitEvents is the one way an event is written: inside the
 * caller's transaction, so an event exists exactly when its cause committed, with a pending
 * delivery for every enabled webhook that may see it and subscribes to its type (emit_events).
 */

export async function emitEvents(tx: Executor, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.execute(sql`select emit_events(
    ${sql.param(events.map((e) => e.type))}::text[],
    ${sql.param(events.map((e) => e.modelId))}::uuid[],
    ${sql.param(events.map((e) => JSON.stringify(e.data)))}::jsonb[])`);
}

/** An event row; `visible` false for another account's event, whose type and data are left out. */
export interface StoredEvent {
  id: number;
  visible: boolean;
  type: string | null;
  data: unknown;
  createdAt: Date;
}

/**
 * Every event with id > after, oldest first, with the content of those the account may see: a
 * reader steps over the others' ids too, so a gap in the ids is one not committed (yet).
 */
export async function eventsAfter(executor: Executor, accountId: string, after: number, limit: number): Promise<StoredEvent[]> {
  const { rows } = await executor.execute<{ id: number; visible: boolean; type: string | null; data: unknown; created_at: string }>(sql`
    select id, visible, case when visible then type end as type, case when visible then data end as data, created_at
    from (select e.*, (e.account_id is null or e.account_id = ${accountId}) as visible from events e
          where e.id > ${after} order by e.id limit ${limit}) v
    order by id`);
  return rows.map((r) => ({ id: Number(r.id), visible: r.visible, type: r.type, data: r.data, createdAt: new Date(r.created_at) }));
}

export async function latestEventId(executor: Executor): Promise<number> {
  const { rows } = await executor.execute<{ id: number | null }>(sql`select max(id) as id from events`);
  return rows[0].id === null ? 0 : Number(rows[0].id);
}

/** Drops events (and their deliveries and attempts) older than the retention; returns how many. */
export async function purgeEvents(executor: Executor, retentionDays: number): Promise<number> {
  const { rowCount } = await executor.execute(sql`delete from events where created_at < now() - make_interval(days => ${retentionDays})`);
  return rowCount ?? 0;
}

/**
 * Marks eras as announced and returns them: each era this call marked (`number` alone at creation,
 * or every era whose opensAt has passed and that is not closed, for the scheduler), and each
 * scheduled activation that takes force with it (domain/events.ts `openingEvents` makes their events).
 * Announcing once is the primary key's doing, whichever replica gets there first.
 */
export async function announceOpenings(executor: Executor, number?: number): Promise<Openings> {
  const { rows } = await executor.execute<{ number: number; opens_at: string; closes_at: string }>(sql`
    with announced as (
      insert into era_openings (era_number)
      select e.number from eras e
      where e.opens_at <= now() and e.closed_at is null and ${number === undefined ? sql`true` : sql`e.number = ${number}`}
      on conflict do nothing
      returning era_number)
    select e.number, e.opens_at, e.closes_at from eras e join announced a on a.era_number = e.number order by e.number`);
  if (rows.length === 0) return { eras: [], activations: [] };
  const { rows: taking } = await executor.execute<{ id: string; name: string; version: number; from_era: number }>(sql`
    select a.policy_id as id, p.name, p.version, a.from_era from policy_activations a join policies p on p.id = a.policy_id
    where a.scheduled and a.cancelled_at is null and a.from_era = any(${sql.param(rows.map((r) => r.number))}::int[])
    order by a.id`);
  return {
    eras: rows.map((r) => ({ number: r.number, opensAt: new Date(r.opens_at), closesAt: new Date(r.closes_at) })),
    activations: taking.map((a) => ({ id: a.id, name: a.name, version: a.version, fromEra: a.from_era })),
  };
}
