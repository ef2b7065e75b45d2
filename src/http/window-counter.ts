/**
 * Counts events per key (a client address) in fixed windows, in this process's memory. Bounded:
 * past `maxKeys` the expired entries go, then the oldest. Used where a shared count would itself
 * cost the database round trip the limit is there to save.
 */
export function windowCounter(options: { limit: number; windowMs?: number; maxKeys?: number }) {
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const entries = new Map<string, { endsAt: number; count: number }>();

  function live(key: string, now: number) {
    const entry = entries.get(key);
    return entry && entry.endsAt > now ? entry : undefined;
  }

  function makeRoom(now: number) {
    for (const [key, entry] of entries) if (entry.endsAt <= now) entries.delete(key);
    while (entries.size >= maxKeys) entries.delete(entries.keys().next().value as string);
  }

  return {
    limit: options.limit,
    /** Counts one event; true while the key is within its limit (this event included). */
    hit(key: string, now = Date.now()): boolean {
      let entry = live(key, now);
      if (!entry) {
        if (entries.size >= maxKeys) makeRoom(now);
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
