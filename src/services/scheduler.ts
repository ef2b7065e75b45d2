import type { FastifyBaseLogger } from 'fastify';
import type { MetaModelService } from './metamodel.js';

/**
 * Closes every era whose closesAt has passed. Every replica runs one; Postgres decides which
 * replica closes an era (closeDueEra skips one another replica is closing), so no state here
 * is authoritative. A failed tick is logged and the next tick tries again.
 */
export function eraScheduler(metaModel: MetaModelService, options: { intervalMs: number; log: FastifyBaseLogger; announceOpenings?: () => Promise<number>; maintainStorage?: () => Promise<unknown> }) {
  const { intervalMs, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> | undefined;
  let running = false;

  async function closeDueEras() {
    // Eras created to open later are announced (era.opened) at the first tick after opensAt.
    await options.announceOpenings?.().catch((error: unknown) => log.error({ err: error }, 'announcing opened eras failed; retrying on the next tick'));
    for (const number of await metaModel.dueEras()) {
      if (!running) return;
      try {
        const closed = await metaModel.closeDueEra(number);
        if (closed?.closedNow) log.info({ era: number, run: closed.run.id, models: closed.run.models }, 'era closed at closesAt');
      } catch (error) {
        log.error({ err: error, era: number }, 'closing a due era failed; retrying on the next tick');
      }
    }
    // Partitions ahead and retention of raw submission values (src/services/retention.ts), when due.
    await options.maintainStorage?.().catch((error: unknown) => log.error({ err: error }, 'storage maintenance failed; retrying later'));
  }

  function schedule() {
    // A chain of timeouts rather than an interval: ticks never overlap however long one takes.
    timer = setTimeout(() => {
      tick = closeDueEras()
        .catch((error: unknown) => log.error({ err: error }, 'scheduler tick failed; retrying on the next tick'))
        .finally(() => {
          tick = undefined;
          if (running) schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    /** Stops polling and waits for a tick in progress, so the pool can close under no query. */
    async stop() {
      running = false;
      clearTimeout(timer);
      await tick;
    },
  };
}

