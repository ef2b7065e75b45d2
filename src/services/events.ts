import type { Database } from '../db/client.js';
import * as eventsDal from '../db/events.js';
import type { Principal } from './accounts.js';

/** Reading the events an account may see, and the era.opened announcements of eras that open later. */
export function eventsService(deps: { db: Database; retentionDays: number }) {
  const { db, retentionDays } = deps;
  return {
    /** Events the caller's account may see after `after`, oldest first. */
    async after(who: Pick<Principal, 'accountId'>, after: number, limit = 500) {
      return eventsDal.eventsAfter(db, who.accountId, after, limit);
    },

    /** Announces eras whose opensAt has passed since they were created, and the policies taking force with them (the scheduler's tick; once per era across replicas). */
    async announceOpenings(): Promise<number> {
      return db.transaction(async (tx) => {
        const opened = await eventsDal.announceOpenings(tx);
        await eventsDal.emitEvents(tx, opened);
        return opened.length;
      });
    },

    /** The newest event's id (0 when none): where a stream without Last-Event-ID starts. */
    async latestId(): Promise<number> {
      return eventsDal.latestEventId(db);
    },

    async purge(): Promise<number> {
      return eventsDal.purgeEvents(db, retentionDays);
    },
  };
}

export type EventsService = ReturnType<typeof eventsService>;
