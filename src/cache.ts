import { LRUCache } from 'lru-cache';

/**
 * The one way this service keeps anything in process memory between requests: a bounded
 * least-recently-used map (lru-cache). Every cache states, where it is made, how much it may
 * hold and why serving an entry that no longer matches the database is safe (or cannot happen).
 */
/** What lru-cache takes as a key or a value: anything but null and undefined. */
type NonNullish = NonNullable<unknown>;

export type CacheSpec<K extends NonNullish, V extends NonNullish, FC = unknown> = CacheBound<V> & {
  /** Entries older than this are not served (milliseconds); unset: entries live until evicted. */
  ttlMs?: number;
  /** Why an entry that no longer matches the database is harmless, or why it cannot happen. */
  staleness: string;
  /** Loads a missing entry for `cache.fetch`; concurrent misses on one key share one load. */
  load?: LRUCache.Fetcher<K, V, FC>;
};

/** Either a count of entries or a bound on their summed size (each entry sized at least 1). */
type CacheBound<V> =
  | { /** The most entries held; the least recently used goes first. */ max: number; maxSize?: never }
  | { max?: never; maxSize: { total: number; sizeOf: (value: V) => number } };

export type Cache<K extends NonNullish, V extends NonNullish, FC = unknown> = LRUCache<K, V, FC>;

export function boundedCache<K extends NonNullish, V extends NonNullish, FC = unknown>(spec: CacheSpec<K, V, FC>): Cache<K, V, FC> {
  const bound = spec.maxSize ?? { total: spec.max ?? 0, sizeOf: () => 1 };
  if (!(bound.total > 0) || !spec.staleness.trim()) throw new Error('a cache needs a bound and a reason it is safe to be stale');
  // The bound is a size (one per entry when counting entries): lru-cache preallocates `max` slots,
  // which for the 100,000-entry caches cost ~10 MB and ~65 ms per app; sized bounds grow as used.
  const sizeOf = bound.sizeOf;
  return new LRUCache<K, V, FC>({
    maxSize: bound.total,
    sizeCalculation: (value) => Math.max(1, sizeOf(value)),
    ...(spec.ttlMs ? { ttl: spec.ttlMs } : {}),
    ...(spec.load ? { fetchMethod: spec.load } : {}),
  });
}
