import { boundedCache } from '../cache.js';

/**
 * Counts events per key (a client address) in fixed windows, in this process's memory. Used where
 * a shared count would itself cost the database round trip the limit is there to save.
 *
 * A counter rather than a copy of anything stored, held in the service's one bounded map
 * (boundedCache) so its bound is stated where it is made. Windows end by the `now` the caller
 * gives, not by the map's own clock. Bounded: past `maxKeys` the expired entries go, then the
 * oldest window (reads only peek, so an entry's place is where its window started).
 */
export function windowCounter(options: { limit: number; windowMs?: number; maxKeys?: number }) {
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const entries = boundedCache<string, { endsAt: number; count: number }>({
    max: maxKeys,
    staleness:
      'an entry past its window is never counted; an entry lost to the bound starts its key a fresh window, ' +
      'which lets that key through sooner by at most the limit: the bound is what keeps a flood of addresses from growing memory',
  });

  function live(key: string, now: number) {
    const entry = entries.peek(key);
    return entry && entry.endsAt > now ? entry : undefined;
  }

  function dropExpired(now: number) {
    const expired = [...entries.entries()].filter(([, entry]) => entry.endsAt <= now).map(([key]) => key);
    for (const key of expired) entries.delete(key);
  }

  return {
    limit: options.limit,
    /** Counts one event; true while the key is within its limit (this event included). */
    hit(key: string, now = Date.now()): boolean {
      let entry = live(key, now);
      if (!entry) {
        if (entries.size >= maxKeys) dropExpired(now);
        entry = { endsAt: now + windowMs, count: 0 };
        entries.set(key, entry);
      }
      entry.count++;
      return entry.count <= options.limit;
    },
    /** Whether the key has used up its window (without counting). */
    isOver(key: string, now = Date.now()): boolean {
      return (live(key, now)?.count ?? 0) >= options.limit;
    },
    /** Whole seconds until the key's window ends (at least 1). */
    retryAfterSeconds(key: string, now = Date.now()): number {
      const entry = live(key, now);
      return Math.max(1, Math.ceil(((entry?.endsAt ?? now) - now) / 1000));
    },
  };
}

export type WindowCounter = ReturnType<typeof windowCounter>;
