import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config.js';
import { inClientTransaction, type Database } from '../db/client.js';
import type { JobQueue } from '../db/queue.js';
import * as dal from '../db/webhooks.js';
import { envelope, retryDelayMs, signedContent, WEBHOOK_SECRET_PREFIX } from '../domain/events.js';
import { WebhookTargetRefused, type WebhookTargets } from './webhook-target.js';

/** The queue's job names: one attempt of one delivery; the minute sweep (missed enqueues, old events). */
export const DELIVER_JOB = 'webhook-deliver';
export const SWEEP_JOB = 'events-sweep';

export interface DeliverJob {
  deliveryId: string;
  /** the attempt this job makes (1-based); a job for an attempt already made is stale and does nothing */
  attempt: number;
}

const SWEEP_BATCH = 500;

/** Standard Webhooks' signature header value for a body. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(signedContent(id, timestampSeconds, body)).digest('base64')}`;
}

interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
}

export interface WebhookAttemptsDeps {
  db: Database;
  config: Pick<Config, 'WEBHOOK_TIMEOUT_MS' | 'WEBHOOK_RETRY_SCHEDULE'>;
  targets: WebhookTargets;
}

/** POSTs the signed body once; a 2xx within the timeout is success, anything else a failure to retry. */
async function post(deps: WebhookAttemptsDeps, url: string, headers: Record<string, string>, body: string): Promise<AttemptOutcome> {
  const { config, targets } = deps;
  try {
    await targets.check(url);
  } catch (error) {
    return { statusCode: null, error: error instanceof WebhookTargetRefused ? error.message : 'the URL was refused' };
  }
  const parsed = new URL(url);
  const client = parsed.protocol === 'https:' ? https : http;
  return new Promise<AttemptOutcome>((resolve) => {
    const request = client.request(
      parsed,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Stakeweight-Webhooks/1' },
        lookup: targets.lookupFor(parsed.hostname),
        timeout: config.WEBHOOK_TIMEOUT_MS,
        signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
      },
      (response) => {
        // The receiver's answer body is not kept: only its status counts.
        response.resume();
        response.on('end', () => resolve({ statusCode: response.statusCode ?? null, error: null }));
        response.on('error', () => resolve({ statusCode: response.statusCode ?? null, error: null }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${config.WEBHOOK_TIMEOUT_MS} ms`)));
    request.on('error', (error: Error & { code?: string }) =>
      resolve({ statusCode: null, error: error.name === 'AbortError' || error.name === 'TimeoutError' ? `no answer within ${config.WEBHOOK_TIMEOUT_MS} ms` : (error.code ?? error.message) }),
    );
    request.end(body);
  });
}

/**
 * Creates the queue job of every pending delivery that has none, in the transaction that marks
 * it queued: a delivery written by a transaction that committed just before its process died
 * is picked up by the next sweep of any replica. Returns how many were enqueued.
 */
export async function sweepDeliveries(deps: WebhookAttemptsDeps, queue: JobQueue): Promise<number> {
  let total = 0;
  for (;;) {
    const claimed = await inClientTransaction(deps.db, async ({ client, tx }) => {
      const due = await dal.claimUnqueued(tx, SWEEP_BATCH);
      await queue.insert(
        client,
        due.map((d) => ({ name: DELIVER_JOB, data: { deliveryId: d.id, attempt: d.attempt } satisfies DeliverJob, startAfter: d.notBefore && d.notBefore > new Date() ? d.notBefore : undefined })),
      );
      return due.length;
    });
    total += claimed;
    if (claimed > 0) queue.wake(DELIVER_JOB);
    if (claimed < SWEEP_BATCH) return total;
  }
}

/**
 * Makes attempt `job.attempt` of a delivery, holding its row lock from before the request to
 * after its outcome is logged, so however many replicas hold jobs for it, each attempt is made
 * once. The next attempt's job is created in the same transaction. A process killed mid-attempt
 * rolls it back: the queue retries the job once it expires, and the attempt is made again.
 */
export async function attemptDelivery(deps: WebhookAttemptsDeps, queue: JobQueue, job: DeliverJob): Promise<void> {
  const { db, config } = deps;
  await inClientTransaction(db, async ({ client, tx }) => {
    const delivery = await dal.lockDelivery(tx, job.deliveryId);
    if (!delivery || delivery.status !== 'pending' || delivery.attempts + 1 !== job.attempt) return;
    if (delivery.disabled) return dal.abandonDelivery(tx, delivery.id);

    const body = JSON.stringify(envelope(delivery.type, delivery.eventCreatedAt, delivery.data));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(delivery.secret, delivery.id, timestamp, body) };
    const started = performance.now();
    const outcome = await post(deps, delivery.url, headers, body);
    const durationMs = Math.round(performance.now() - started);

    const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const gone = outcome.statusCode === 410;
    const delay = ok || gone ? null : retryDelayMs(config.WEBHOOK_RETRY_SCHEDULE, job.attempt, Math.random());
    const nextAttemptAt = delay === null ? null : new Date(Date.now() + delay);
    const status = ok ? 'delivered' : nextAttemptAt ? 'pending' : 'failed';
    await dal.recordAttempt(tx, delivery.id, { number: job.attempt, ...outcome, durationMs }, { status, queued: nextAttemptAt !== null, nextAttemptAt });
    if (gone) await dal.disableWebhook(tx, delivery.webhookId, 'the endpoint answered 410 Gone');
    if (nextAttemptAt) await queue.insert(client, [{ name: DELIVER_JOB, data: { deliveryId: delivery.id, attempt: job.attempt + 1 } satisfies DeliverJob, startAfter: nextAttemptAt }]);
  });
}
