import type { Database } from '../db/client.js';
import { sweepRateLimits, takeRateLimit, type Grant } from '../db/rate-limit.js';

/** The write limit's count shared by every replica (db/rate-limit.ts); the HTTP plugin holds the tokens. */
export function rateLimitsService(deps: { db: Database }) {
  const { db } = deps;
  return {
    take: (bucket: string, want: number, limit: number): Promise<Grant> => takeRateLimit(db, bucket, want, limit),
    sweep: (): Promise<void> => sweepRateLimits(db),
  };
}

export type RateLimitsService = ReturnType<typeof rateLimitsService>;
