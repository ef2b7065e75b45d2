import { LRUCache } from 'lru-cache';

/**
 * The one way this service keeps anything in process memory between requests: a bounded
 * least-recently-used map (lru-cache). Every cache states, where it is made, how much it may
 * hold and why serving an entry that no longer matches the database is safe (or cannot happen).
 */
export interface CacheSpec<K extends {}, V extends {}, FC = unknown> {
  /** The most entries held; the least recently used goes first. */
  max: number;
  /** Alternatively, a bound on the summed size of the entries, each sized by `sizeOf`. */
  maxSize?: { total: number; sizeOf: (value: V) => number };
  /** Entries older than this are not served (milliseconds); unset: entries live until evicted. */
  ttlMs?: number;
  /** Why an entry that no longer matches the database is harmless, or why it cannot happen. */
  staleness: string;
  /** Loads a missing entry for `cache.fetch`; concurrent misses on one key share one load. */
  load?: LRUCache.Fetcher<K, V, FC>;
}

export type Cache<K extends {}, V extends {}, FC = unknown> = LRUCache<K, V, FC>;

export function boundedCache<K extends {}, V extends {}, FC = unknown>(spec: CacheSpec<K, V, FC>): Cache<K, V, FC> {
  if (!(spec.max > 0) || !spec.staleness.trim()) throw new Error('a cache needs a bound and a reason it is safe to be stale');
  return new LRUCache<K, V, FC>({
    max: spec.max,
    ...(spec.maxSize ? { maxSize: spec.maxSize.total, sizeCalculation: spec.maxSize.sizeOf } : {}),
    ...(spec.ttlMs ? { ttl: spec.ttlMs } : {}),
    ...(spec.load ? { fetchMethod: spec.load } : {}),
  });
}
