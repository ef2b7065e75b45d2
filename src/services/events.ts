import type { Database } from '../db/client.js';
import * as eventsDal from '../db/events.js';
import { openingEvents } from '../domain/events.js';
import { EventCursor } from '../domain/event-cursor.js';
import type { Principal } from './accounts.js';

/** How long a stream waits for a lower id to commit before moving past it (domain/event-cursor.ts). */
const GAP_WAIT_MS = 5_000;
const READ_BATCH = 500;

/** An event a stream sends: one the reader's account may see. */
export interface StreamedEvent {
  id: number;
  type: string;
  data: unknown;
  createdAt: Date;
}

/** Reading the events an account may see, and the era.opened announcements of eras that open later. */
export function eventsService(deps: { db: Database; retentionDays: number }) {
  const { db, retentionDays } = deps;
  return {
    /**
     * A reader of the events the account may see after `lastEventId` (after the newest event when
     * absent): each `next()` returns those to send now, oldest first, each once.
     */
    async stream(who: Pick<Principal, 'accountId'>, lastEventId?: number) {
      const start = lastEventId ?? (await eventsDal.latestEventId(db));
      const cursor = new EventCursor(start, GAP_WAIT_MS);
      return {
        start,
        async next(): Promise<StreamedEvent[]> {
          const rows = await eventsDal.eventsAfter(db, who.accountId, cursor.after, READ_BATCH);
          const fresh = new Set(cursor.take(rows.map((r) => r.id), Date.now()));
          return rows.flatMap((r) => (fresh.has(r.id) && r.visible && r.type !== null ? [{ id: r.id, type: r.type, data: r.data, createdAt: r.createdAt }] : []));
        },
      };
    },

    /** Announces eras whose opensAt has passed since they were created, and the policies taking force with them (the scheduler's tick; once per era across replicas). */
    async announceOpenings(): Promise<number> {
      return db.transaction(async (tx) => {
        const opened = openingEvents(await eventsDal.announceOpenings(tx));
        await eventsDal.emitEvents(tx, opened);
        return opened.length;
      });
    },

    async purge(): Promise<number> {
      return eventsDal.purgeEvents(db, retentionDays);
    },
  };
}

export type EventsService = ReturnType<typeof eventsService>;
