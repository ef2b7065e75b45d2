import type { FastifyBaseLogger } from 'fastify';
import { poolOf } from '../db/client.js';
import { PgBossQueue, type QueueOptions } from '../db/queue.js';
import { listenForDeliveries } from '../db/webhooks.js';
import type { EventsService } from './events.js';
import { attemptDelivery, DELIVER_JOB, sweepDeliveries, SWEEP_JOB, type DeliverJob, type WebhookAttemptsDeps } from './webhook-attempts.js';

/**
 * Webhook delivery on the Postgres job queue (src/db/queue.ts). Every replica runs one: jobs are
 * rows that one worker at a time takes (SKIP LOCKED), so nothing here is authoritative. Deliveries
 * are written with their events (emit_events); a sweep turns each into a queue job, run when a
 * transaction that wrote deliveries commits (LISTEN), at start, and every minute on one replica.
 */
export function eventDelivery(deps: {
  attempts: WebhookAttemptsDeps;
  events: Pick<EventsService, 'purge'>;
  queue: QueueOptions;
  workers: number;
  log: FastifyBaseLogger;
}) {
  const { attempts, events, workers, log } = deps;
  const queue = new PgBossQueue(deps.queue);
  let stopListening: (() => Promise<void>) | undefined;
  let sweeping: Promise<void> | undefined;
  let again = false;
  let running = false;

  function sweepSoon() {
    if (!running) return;
    if (sweeping) {
      again = true;
      return;
    }
    sweeping = sweepDeliveries(attempts, queue)
      .then(() => undefined)
      .catch((error: unknown) => log.error({ err: error }, 'enqueuing webhook deliveries failed; the next sweep retries'))
      .finally(() => {
        sweeping = undefined;
        if (again) {
          again = false;
          sweepSoon();
        }
      });
  }

  return {
    async start() {
      running = true;
      queue.onError((error) => log.error({ err: error }, 'job queue error'));
      await queue.start([DELIVER_JOB, SWEEP_JOB]);
      for (let i = 0; i < workers; i++) await queue.work<DeliverJob>(DELIVER_JOB, (job) => attemptDelivery(attempts, queue, job));
      await queue.work(SWEEP_JOB, async () => {
        await sweepDeliveries(attempts, queue);
        await events.purge();
      });
      await queue.everyMinute(SWEEP_JOB);
      stopListening = listenForDeliveries(poolOf(attempts.db), sweepSoon);
    },
    /** Stops taking jobs and waits for attempts in progress (the queue releases any still running for another replica). */
    async stop() {
      running = false;
      await stopListening?.();
      await sweeping;
      await queue.stop(5_000);
    },
  };
}
