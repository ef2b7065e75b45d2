import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Config } from '../config.js';
import { inClientTransaction, type Database, type DatabaseHandle } from '../db/client.js';
import type { JobQueue } from '../db/queue.js';
import * as dal from '../db/webhooks.js';
import { envelope, retryDelayMs, signedContent, WEBHOOK_SECRET_PREFIX, type EventType } from '../domain/events.js';
import { badRequest, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import { WebhookTargetRefused, type WebhookTargets } from './webhook-target.js';

/** The queue's job names: one attempt of one delivery; the minute sweep (missed enqueues, old events). */
export const DELIVER_JOB = 'webhook-deliver';
export const SWEEP_JOB = 'events-sweep';

export interface DeliverJob {
  deliveryId: string;
  /** the attempt this job makes (1-based); a job for an attempt already made is stale and does nothing */
  attempt: number;
}

const DELIVERY_PAGE = 100;
const SWEEP_BATCH = 500;

function presentWebhook(w: dal.WebhookRow) {
  return { id: w.id, url: w.url, events: w.events as EventType[], description: w.description, disabled: w.disabledAt !== null, disabledReason: w.disabledReason, createdAt: w.createdAt };
}

/** Standard Webhooks' signature header value for a body. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(signedContent(id, timestampSeconds, body)).digest('base64')}`;
}

interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
}

export function webhooksService(deps: { db: Database; pool: DatabaseHandle['pool']; config: Config; targets: WebhookTargets }) {
  const { db, pool, config, targets } = deps;

  async function owned(who: Principal, id: string) {
    const webhook = await dal.findWebhook(db, id);
    // Another account's webhook is indistinguishable from a missing one.
    if (!webhook || webhook.accountId !== who.accountId) throw notFound(`webhook ${id} does not exist`);
    return webhook;
  }

  /** POSTs the signed body once; a 2xx within the timeout is success, anything else a failure to retry. */
  async function post(url: string, headers: Record<string, string>, body: string): Promise<AttemptOutcome> {
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

  return {
    async create(who: Principal, input: { url: string; events: EventType[]; description?: string }) {
      try {
        await targets.check(input.url);
      } catch (error) {
        if (error instanceof WebhookTargetRefused) throw badRequest(`the webhook URL is refused: ${error.message}`, [{ path: 'body.url', message: error.message }]);
        throw error;
      }
      const secret = WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
      const events = [...new Set(input.events)];
      const row = await dal.insertWebhook(db, { accountId: who.accountId, url: input.url, events, description: input.description ?? null, secret });
      return { ...presentWebhook(row), secret };
    },

    async list(who: Principal) {
      return (await dal.webhooksOf(db, who.accountId)).map(presentWebhook);
    },

    async remove(who: Principal, id: string) {
      if (!(await dal.deleteWebhook(db, who.accountId, id))) throw notFound(`webhook ${id} does not exist`);
    },

    async deliveries(who: Principal, id: string) {
      await owned(who, id);
      const deliveries = await dal.deliveriesOf(db, id, DELIVERY_PAGE);
      const attempts = await dal.attemptsOf(db, deliveries.map((d) => d.id));
      return deliveries.map((d) => ({ ...d, type: d.type as EventType, log: attempts.get(d.id) ?? [] }));
    },

    async retry(who: Principal, id: string, deliveryId: string) {
      await owned(who, id);
      if (!(await dal.requeueDelivery(db, id, deliveryId))) throw notFound(`webhook ${id} has no delivery ${deliveryId}`);
    },

    /**
     * Creates the queue job of every pending delivery that has none, in the transaction that marks
     * it queued: a delivery written by a transaction that committed just before its process died
     * is picked up by the next sweep of any replica. Returns how many were enqueued.
     */
    async sweep(queue: JobQueue): Promise<number> {
      let total = 0;
      for (;;) {
        const claimed = await inClientTransaction(pool, async ({ client, tx }) => {
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
    },

    /**
     * Makes attempt `job.attempt` of a delivery, holding its row lock from before the request to
     * after its outcome is logged, so however many replicas hold jobs for it, each attempt is made
     * once. The next attempt's job is created in the same transaction. A process killed mid-attempt
     * rolls it back: the queue retries the job once it expires, and the attempt is made again.
     */
    async attempt(queue: JobQueue, job: DeliverJob): Promise<void> {
      await inClientTransaction(pool, async ({ client, tx }) => {
        const delivery = await dal.lockDelivery(tx, job.deliveryId);
        if (!delivery || delivery.status !== 'pending' || delivery.attempts + 1 !== job.attempt) return;
        if (delivery.disabled) return dal.abandonDelivery(tx, delivery.id);

        const body = JSON.stringify(envelope(delivery.type, delivery.eventCreatedAt, delivery.data));
        const timestamp = Math.floor(Date.now() / 1000);
        const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(delivery.secret, delivery.id, timestamp, body) };
        const started = performance.now();
        const outcome = await post(delivery.url, headers, body);
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
    },
  };
}

export type WebhooksService = ReturnType<typeof webhooksService>;
