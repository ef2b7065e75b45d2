import PgBoss from 'pg-boss';
import pg from 'pg';
import { LOCK_KEY } from './locks.js';

/**
 * The job queue (pg-boss 10): its tables live in the `pgboss` schema, which pg-boss creates and
 * migrates at start under its own advisory lock. Jobs are rows: a job inserted in a transaction
 * (`client`) exists exactly when that transaction commits. A worker that dies holding a job
 * (kill -9) loses it to expiry: after `expireSeconds` in the active state, pg-boss's maintenance
 * (any replica's) puts it back to be retried, so nothing depends on the dead process.
 */

export interface QueueOptions {
  connectionString: string;
  /** a job active longer than this is taken as lost and retried */
  expireSeconds: number;
  /** how often a replica runs pg-boss's maintenance (expiry, archiving) */
  maintenanceSeconds: number;
  pollingSeconds: number;
}

export interface JobQueue {
  start(queues: readonly string[]): Promise<void>;
  /** Inserts jobs inside the transaction of `client`. */
  insert(client: pg.PoolClient, jobs: readonly { name: string; data: object; startAfter?: Date }[]): Promise<void>;
  /** A worker taking jobs of `name` one at a time; it fetches again at once after a job, else after the polling interval. */
  work<T extends object>(name: string, handler: (data: T) => Promise<void>): Promise<void>;
  /** Makes the workers of `name` look for jobs now (jobs were just inserted). */
  wake(name: string): void;
  /** Runs `name` every minute on one replica. */
  everyMinute(name: string): Promise<void>;
  onError(handler: (error: Error) => void): void;
  /** Stops fetching, waits for jobs in hand (a job still running after `timeoutMs` is released for retry). */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * The pg-boss queue: an object that owns its own connections (pg-boss's pool and the start lock's
 * client) and its workers, so it is a class rather than executor-first functions.
 */
export class PgBossQueue implements JobQueue {
  private readonly boss: PgBoss;
  private readonly workers = new Map<string, string[]>();

  constructor(private readonly options: QueueOptions) {
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      max: 4,
      application_name: 'stakeweight-queue',
      expireInSeconds: options.expireSeconds,
      maintenanceIntervalSeconds: options.maintenanceSeconds,
      // A job lost by its worker is retried until its delivery records an attempt; a handler that
      // throws (the database away) is retried the same way.
      retryLimit: 1000,
      retryDelay: 1,
      retryBackoff: false,
    });
  }

  async start(queues: readonly string[]): Promise<void> {
    // One replica at a time: creating queues attaches partitions to pg-boss's job table, which deadlocks when two do it at once.
    const lock = new pg.Client({ connectionString: this.options.connectionString, application_name: 'stakeweight-queue-start' });
    // Its loss (a restart while pg-boss starts) fails the statements on it, not the process; the session lock goes with it.
    lock.on('error', () => {});
    await lock.connect();
    try {
      await lock.query('select pg_advisory_lock($1)', [LOCK_KEY.queueStart]);
      await this.boss.start();
      for (const name of queues) await this.boss.createQueue(name);
    } finally {
      await lock.end();
    }
  }

  async insert(client: pg.PoolClient, jobs: readonly { name: string; data: object; startAfter?: Date }[]): Promise<void> {
    if (jobs.length === 0) return;
    const db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
    const expireInSeconds = this.options.expireSeconds;
    await this.boss.insert(
      jobs.map((j) => ({ name: j.name, data: j.data, startAfter: j.startAfter, expireInSeconds, retryLimit: 1000, retryDelay: 1 })),
      { db },
    );
  }

  async work<T extends object>(name: string, handler: (data: T) => Promise<void>): Promise<void> {
    let id = '';
    id = await this.boss.work<T>(name, { batchSize: 1, pollingIntervalSeconds: this.options.pollingSeconds }, async ([job]) => {
      await handler(job.data);
      // A busy queue is drained back to back instead of one job per polling interval.
      this.boss.notifyWorker(id);
    });
    this.workers.set(name, [...(this.workers.get(name) ?? []), id]);
  }

  wake(name: string): void {
    for (const id of this.workers.get(name) ?? []) this.boss.notifyWorker(id);
  }

  async everyMinute(name: string): Promise<void> {
    await this.boss.schedule(name, '* * * * *');
  }

  onError(handler: (error: Error) => void): void {
    this.boss.on('error', handler);
  }

  async stop(timeoutMs: number): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: timeoutMs, wait: true });
  }
}
