import { and, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { webhookDeliveries, webhooks } from './schema.js';

/**
 * Webhooks, their deliveries and the attempt log (migration 0017). A delivery is `pending` until
 * an attempt gets a 2xx (`delivered`) or the retry schedule is spent or the endpoint answers 410
 * (`failed`). `queued` says a queue job for its next attempt exists; the sweep (claimUnqueued)
 * creates one for every pending delivery without, in the transaction that sets the flag.
 */

export type WebhookRow = typeof webhooks.$inferSelect;

export async function insertWebhook(executor: Executor, values: { accountId: string; url: string; events: string[]; description: string | null; secret: string }) {
  const [row] = await executor.insert(webhooks).values(values).returning();
  return row;
}

export async function webhooksOf(executor: Executor, accountId: string): Promise<WebhookRow[]> {
  return executor.select().from(webhooks).where(eq(webhooks.accountId, accountId)).orderBy(desc(webhooks.createdAt), webhooks.id);
}

export async function findWebhook(executor: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await executor.select().from(webhooks).where(eq(webhooks.id, id));
  return row;
}

/** Removes a webhook of the account with its deliveries; false when it has no such webhook. */
export async function deleteWebhook(executor: Executor, accountId: string, id: string): Promise<boolean> {
  const rows = await executor.delete(webhooks).where(and(eq(webhooks.id, id), eq(webhooks.accountId, accountId))).returning({ id: webhooks.id });
  return rows.length > 0;
}

export async function disableWebhook(executor: Executor, id: string, reason: string): Promise<void> {
  await executor.update(webhooks).set({ disabledAt: sql`now()`, disabledReason: reason }).where(and(eq(webhooks.id, id), sql`${webhooks.disabledAt} is null`));
}

export interface DeliveryView {
  id: string;
  eventId: number;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

/** A webhook's deliveries, newest first. */
export async function deliveriesOf(executor: Executor, webhookId: string, limit: number): Promise<DeliveryView[]> {
  const { rows } = await executor.execute<{
    id: string; event_id: number; type: string; status: DeliveryView['status']; attempts: number;
    last_status_code: number | null; next_attempt_at: string | null; created_at: string;
  }>(sql`
    select d.id, d.event_id, e.type, d.status, d.attempts, d.last_status_code, d.next_attempt_at, d.created_at
    from webhook_deliveries d join events e on e.id = d.event_id
    where d.webhook_id = ${webhookId}
    order by d.created_at desc, d.event_id desc limit ${limit}`);
  return rows.map((r) => ({
    id: r.id,
    eventId: Number(r.event_id),
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    nextAttemptAt: r.next_attempt_at === null ? null : new Date(r.next_attempt_at),
    createdAt: new Date(r.created_at),
  }));
}

export interface AttemptView {
  number: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export async function attemptsOf(executor: Executor, deliveryIds: readonly string[]): Promise<Map<string, AttemptView[]>> {
  const byDelivery = new Map<string, AttemptView[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const { rows } = await executor.execute<{ delivery_id: string; number: number; at: string; status_code: number | null; error: string | null; duration_ms: number }>(sql`
    select delivery_id, number, at, status_code, error, duration_ms from webhook_attempts
    where delivery_id = any(${sql.param(deliveryIds)}::uuid[]) order by delivery_id, number`);
  for (const r of rows) {
    const list = byDelivery.get(r.delivery_id) ?? [];
    list.push({ number: r.number, at: new Date(r.at), statusCode: r.status_code, error: r.error, durationMs: r.duration_ms });
    byDelivery.set(r.delivery_id, list);
  }
  return byDelivery;
}

/** Sends a delivery of the webhook again: pending, its next attempt now, for the sweep to enqueue. False when the webhook has no such delivery. */
export async function requeueDelivery(executor: Executor, webhookId: string, deliveryId: string): Promise<boolean> {
  const { rows } = await executor.execute<{ id: string }>(sql`
    update webhook_deliveries set status = 'pending', queued = false, next_attempt_at = now()
    where id = ${deliveryId} and webhook_id = ${webhookId} returning id`);
  if (rows.length > 0) await executor.execute(sql`select pg_notify('stakeweight_deliveries', '')`);
  return rows.length > 0;
}

/**
 * Pending deliveries that have no queue job, marked queued in the caller's transaction (which
 * creates their jobs): SKIP LOCKED, so replicas sweeping together take disjoint sets.
 */
export async function claimUnqueued(executor: Executor, limit: number) {
  const { rows } = await executor.execute<{ id: string; attempts: number; next_attempt_at: string | null }>(sql`
    update webhook_deliveries d set queued = true
    from (select id from webhook_deliveries where status = 'pending' and not queued order by created_at limit ${limit} for update skip locked) c
    where d.id = c.id
    returning d.id, d.attempts, d.next_attempt_at`);
  return rows.map((r) => ({ id: r.id, attempt: r.attempts + 1, notBefore: r.next_attempt_at === null ? null : new Date(r.next_attempt_at) }));
}

export interface DeliveryToAttempt {
  id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  webhookId: string;
  url: string;
  secret: string;
  disabled: boolean;
  eventId: number;
  type: string;
  data: unknown;
  eventCreatedAt: Date;
}

/**
 * The delivery with its webhook and event, its row locked until the caller's transaction ends:
 * one attempt of a delivery at a time, whichever replica's worker holds the job.
 */
export async function lockDelivery(executor: Executor, id: string): Promise<DeliveryToAttempt | undefined> {
  const { rows } = await executor.execute<{
    id: string; status: DeliveryToAttempt['status']; attempts: number; webhook_id: string; url: string; secret: string;
    disabled: boolean; event_id: number; type: string; data: unknown; created_at: string;
  }>(sql`
    select d.id, d.status, d.attempts, w.id as webhook_id, w.url, w.secret, w.disabled_at is not null as disabled,
           e.id as event_id, e.type, e.data, e.created_at
    from webhook_deliveries d join webhooks w on w.id = d.webhook_id join events e on e.id = d.event_id
    where d.id = ${id}
    for update of d`);
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id, status: r.status, attempts: r.attempts, webhookId: r.webhook_id, url: r.url, secret: r.secret, disabled: r.disabled,
    eventId: Number(r.event_id), type: r.type, data: r.data, eventCreatedAt: new Date(r.created_at),
  };
}

/** Logs attempt `number` and sets the delivery's state after it. */
export async function recordAttempt(
  executor: Executor,
  deliveryId: string,
  attempt: { number: number; statusCode: number | null; error: string | null; durationMs: number },
  after: { status: 'pending' | 'delivered' | 'failed'; queued: boolean; nextAttemptAt: Date | null },
): Promise<void> {
  await executor.execute(sql`
    insert into webhook_attempts (delivery_id, number, status_code, error, duration_ms)
    values (${deliveryId}, ${attempt.number}, ${attempt.statusCode}, ${attempt.error}, ${attempt.durationMs})`);
  await executor
    .update(webhookDeliveries)
    .set({ attempts: attempt.number, status: after.status, queued: after.queued, lastStatusCode: attempt.statusCode, nextAttemptAt: after.nextAttemptAt })
    .where(eq(webhookDeliveries.id, deliveryId));
}

/** A delivery that will not be attempted (its endpoint was disabled): failed, nothing queued. */
export async function abandonDelivery(executor: Executor, deliveryId: string): Promise<void> {
  await executor.update(webhookDeliveries).set({ status: 'failed', queued: false, nextAttemptAt: null }).where(eq(webhookDeliveries.id, deliveryId));
}

/**
 * Calls `onNotify` whenever a transaction that wrote deliveries commits (emit_events notifies),
 * on a connection of its own; a lost connection is re-opened, then `onNotify` runs once in case
 * a notification was missed meanwhile. Returns the function that stops listening.
 */
export function listenForDeliveries(pool: import('pg').Pool, onNotify: () => void, retryMs = 1_000): () => Promise<void> {
  let stopped = false;
  let client: import('pg').PoolClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  const connect = async () => {
    try {
      const c = await pool.connect();
      if (stopped) return c.release();
      client = c;
      const notified = () => onNotify();
      const lost = () => {
        c.off('notification', notified);
        c.off('error', lost);
        // Released once: by whichever of this and stop() lets go of it first.
        if (client !== c) return;
        client = undefined;
        c.release(true);
        if (!stopped) timer = setTimeout(() => void connect(), retryMs); // connect catches its own failures
      };
      c.on('notification', notified);
      c.on('error', lost);
      await c.query('listen stakeweight_deliveries');
      onNotify();
    } catch {
      if (!stopped) timer = setTimeout(() => void connect(), retryMs); // connect catches its own failures
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const c = client;
    if (c) {
      client = undefined;
      c.removeAllListeners('notification');
      await c.query('unlisten *').catch(() => {});
      // A connection that failed to unlisten is not pooled again.
      c.release(true);
    }
  };
}
