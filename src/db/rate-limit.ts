import { sql } from 'drizzle-orm';
import type { Executor } from './client.js';

/** Tokens granted from a bucket's count for the current minute, and when that minute ends. */
export interface Grant {
  granted: number;
  /** Milliseconds until the database's current minute ends. */
  resetsInMs: number;
}

/*
 * The write rate limit's shared count (rate_limit_counters, UNLOGGED): one row per bucket per
 * minute of the database's clock, so every replica counts in the same window.
 */

/**
 * Takes up to `want` of the bucket's `limit` for this minute in one upsert. The row lock makes
 * the takes of all replicas add up in turn, so together they never grant more than `limit`;
 * `used` keeps counting past it (asked, not granted), which is harmless.
 */
export async function takeRateLimit(executor: Executor, bucket: string, want: number, limit: number): Promise<Grant> {
  const { rows } = await executor.execute<{ used: number; resetsInMs: number }>(sql`
    insert into rate_limit_counters as c (bucket, window_start, used)
    values (${bucket}, date_trunc('minute', now()), ${want})
    on conflict (bucket, window_start) do update set used = c.used + excluded.used
    returning c.used, ceil(extract(epoch from (c.window_start + interval '1 minute' - now())) * 1000)::int as "resetsInMs"`);
  const used = Number(rows[0].used);
  const resetsInMs = Number(rows[0].resetsInMs);
  return { granted: Math.max(0, Math.min(want, limit - (used - want))), resetsInMs: Math.max(1, resetsInMs) };
}

/** Drops the counts of minutes that have ended. */
export async function sweepRateLimits(executor: Executor): Promise<void> {
  await executor.execute(sql`delete from rate_limit_counters where window_start < date_trunc('minute', now())`);
}
