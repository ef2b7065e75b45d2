import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimitsService } from '../../services/rate-limits.js';
import { boundedCache } from '../../cache.js';
import { tooManyRequests } from '../../errors.js';
import { windowCounter } from '../window-counter.js';

const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Keys whose write tokens a replica holds at once (the least recently writing goes first). */
const MAX_BUCKETS = 100_000;
/** Probes and scrapes from the platform, never throttled. */
const UNTHROTTLED: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

interface Bucket {
  tokens: number;
  /** This process's clock when the database's minute ends. */
  endsAt: number;
  exhausted: boolean;
  taking?: Promise<void>;
}

export interface RateLimitOptions {
  store: RateLimitsService;
  perMinute: number;
}

function refuse(reply: FastifyReply, seconds: number, detail: string) {
  reply.header('retry-after', seconds);
  return tooManyRequests(`${detail}; retry in ${seconds} s`);
}

/**
 * Requests without an Authorization header, per client address, in this process (registered
 * before the auth plugin, so a 401 for a missing key counts too). They cost no database work.
 */
export const anonymousLimitPlugin = fp(async (app: FastifyInstance, opts: { perMinute: number }) => {
  const anonymous = windowCounter({ limit: opts.perMinute });
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== undefined || UNTHROTTLED.has(request.routeOptions.url ?? '')) return;
    if (!anonymous.hit(request.ip)) {
      throw refuse(reply, anonymous.retryAfterSeconds(request.ip), `Limit of ${opts.perMinute} requests per minute without an API key from one address exceeded`);
    }
  });
});

/**
 * Write requests per key, across every replica, checked in onRequest right after the key is
 * (registered after the auth plugin): before the body is read. A replica takes tokens from the
 * key's shared count for the minute in batches of 1 % of the limit (at least one), so the ingest
 * path meets the database once per batch; the replicas together never grant more than the limit,
 * and one may hold back less than a batch when the minute ends.
 */
export const rateLimitPlugin = fp(async (app: FastifyInstance, opts: RateLimitOptions) => {
  const batch = Math.max(1, Math.floor(opts.perMinute / 100));
  // Each key's tokens taken from its shared count for the minute. Not a copy of the database but
  // tokens this replica holds; boundedCache bounds them all the same (the sweeper below also drops
  // ended minutes), so many keys writing at once cannot grow memory without end.
  const buckets = boundedCache<string, Bucket>({
    max: MAX_BUCKETS,
    staleness:
      "a bucket lost to the bound loses only its unspent tokens, already counted in the key's shared count: the key is " +
      'granted fewer that minute, never more, and requests waiting on its take go on to a new bucket',
  });

  /** 0 when the key may write now, else the seconds until its minute ends. */
  async function takeToken(keyId: string): Promise<number> {
    for (;;) {
      const now = Date.now();
      let bucket = buckets.get(keyId);
      if (!bucket || (bucket.endsAt <= now && !bucket.taking)) {
        bucket = { tokens: 0, endsAt: 0, exhausted: false };
        buckets.set(keyId, bucket);
      }
      if (bucket.tokens > 0) {
        bucket.tokens--;
        return 0;
      }
      if (bucket.exhausted) return Math.max(1, Math.ceil((bucket.endsAt - now) / 1000));
      if (!bucket.taking) {
        const b = bucket;
        b.taking = opts.store
          .take(keyId, batch, opts.perMinute)
          .then((grant) => {
            b.tokens += grant.granted;
            b.endsAt = Date.now() + grant.resetsInMs;
            b.exhausted = grant.granted === 0;
          })
          .finally(() => {
            b.taking = undefined;
          });
      }
      // Concurrent requests of one key wait for the same take.
      await bucket.taking;
    }
  }

  app.addHook('onRequest', async (request, reply) => {
    if (!request.principal || READS.has(request.method)) return;
    const wait = await takeToken(request.principal.keyId);
    if (wait > 0) throw refuse(reply, wait, `Rate limit of ${opts.perMinute} write requests per minute for this key exceeded`);
  });

  const sweeper = setInterval(() => {
    const now = Date.now();
    const ended = [...buckets.entries()].filter(([, bucket]) => bucket.endsAt <= now && !bucket.taking).map(([keyId]) => keyId);
    for (const keyId of ended) buckets.delete(keyId);
    opts.store.sweep().catch(() => {});
  }, 60_000).unref();
  app.addHook('onClose', async () => clearInterval(sweeper));
});
