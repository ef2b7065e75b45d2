import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { isLockNotAvailable } from '../db/errors.js';
import { compactSubmissions, dropRawValues, erasPastRetention, erasToCompact, erasWithSupersededValues, tryRetentionLock } from '../db/archive.js';
import { ensureEraPartitions, erasInDefault, erasToPartition } from '../db/partitions.js';

/** Partitions are made this many era numbers past the highest era, so an era created next finds its own. */
export const PARTITIONS_AHEAD = 3;
/** How long a partition's rewrite waits for its one table lock before giving up until the next pass. */
const LOCK_TIMEOUT_MS = 2_000;
/** Attempts at a moment when no transaction holds a lock making a partition needs, before the next pass. */
const PARTITION_ATTEMPTS = 40;

/**
 * Makes the eras' partitions (src/db/partitions.ts), each attempt a transaction of its own that
 * takes its locks without waiting; while another transaction holds one, tries again a moment
 * later, up to PARTITION_ATTEMPTS times (about two seconds), then throws: the eras' rows go to the
 * DEFAULT partitions meanwhile and the next pass tries again.
 */
export async function makeEraPartitions(db: Database, eras: readonly number[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((tx) => ensureEraPartitions(tx, eras));
    } catch (error) {
      if (!isLockNotAvailable(error) || attempt >= PARTITION_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}

export interface RetentionPass {
  /** partitions made */
  partitionsMade: number;
  /** eras whose rows sit in a DEFAULT partition (archive still takes them) */
  erasInDefault: number[];
  /** per era, superseded submissions whose raw values were dropped */
  superseded: { era: number; dropped: number }[];
  /** per era past RETAIN_SUBMISSIONS_ERAS, current submissions whose raw values were dropped */
  expired: { era: number; dropped: number }[];
  /** eras whose partition was rewritten to give the dropped values' space back */
  compacted: number[];
  /** eras whose partition could not be rewritten now (locked): tried again at the next pass */
  notCompacted: number[];
}

/**
 * Era partitions made ahead, and retention of raw submission values (docs/operations.md):
 * - partitions: every era neither resolved nor archived, and the next PARTITIONS_AHEAD numbers,
 *   get their partitions, each batch in a transaction of its own (src/db/partitions.ts);
 * - once an era is resolved, its superseded submissions' raw values are dropped;
 * - once RETAIN_SUBMISSIONS_ERAS later eras are resolved, its current submissions' raw values are
 *   dropped too. Digest (sha256), rank codes and every other column stay, so scores, bundles and
 *   `verify` are unchanged: nothing reads raw values back.
 * Each era is one transaction that records what it did in era_storage, taken by one replica at a
 * time (a try-lock: a replica that finds it held skips the pass); a pass cut short is finished by
 * the next. A partition whose values went is rewritten (CLUSTER) at a pass at least
 * `compactAfterMs` later (a minute by default: a rewrite keeps what a transaction still running
 * could read), to give the space back; era_storage.compacted_at records it. The scheduler runs a
 * pass at most every RETENTION_INTERVAL_MS per replica (a minute by default).
 */
export function retentionService(deps: { db: Database; config: Pick<Config, 'RETAIN_SUBMISSIONS_ERAS' | 'RETENTION_INTERVAL_MS'> }) {
  const { db, config } = deps;

  async function makePartitions(): Promise<number> {
    return makeEraPartitions(db, await erasToPartition(db, PARTITIONS_AHEAD));
  }

  /** Drops one era's values under the retention lock; null when another replica holds it. */
  async function dropOne(era: number, which: 'superseded' | 'all'): Promise<number | null> {
    return db.transaction(async (tx) => ((await tryRetentionLock(tx)) ? dropRawValues(tx, era, which) : null));
  }

  async function compact(era: number): Promise<boolean> {
    try {
      await db.transaction((tx) => compactSubmissions(tx, era, LOCK_TIMEOUT_MS));
      return true;
    } catch {
      return false;
    }
  }

  let lastPass = -Infinity;

  async function pass(options: { compactAfterMs?: number } = {}): Promise<RetentionPass> {
    const result: RetentionPass = { partitionsMade: await makePartitions(), erasInDefault: await erasInDefault(db), superseded: [], expired: [], compacted: [], notCompacted: [] };
    for (const era of await erasToCompact(db, options.compactAfterMs ?? config.RETENTION_INTERVAL_MS)) (await compact(era) ? result.compacted : result.notCompacted).push(era);
    const steps: [number[], 'superseded' | 'all', RetentionPass['superseded']][] = [
      [await erasWithSupersededValues(db), 'superseded', result.superseded],
      [await erasPastRetention(db, config.RETAIN_SUBMISSIONS_ERAS), 'all', result.expired],
    ];
    for (const [eras, which, into] of steps) {
      for (const era of eras) {
        const dropped = await dropOne(era, which);
        if (dropped === null) return result;
        into.push({ era, dropped });
      }
    }
    return result;
  }

  return {
    /** Makes the partitions ahead; safe to run on every replica at once. */
    makePartitions,
    /** One pass: partitions ahead, rewrites of partitions whose values went earlier, then retention of every era due. Idempotent. */
    pass,
    /** A pass when the last one on this replica is RETENTION_INTERVAL_MS old (the scheduler's tick). */
    async passWhenDue(now = Date.now()): Promise<RetentionPass | null> {
      if (now - lastPass < config.RETENTION_INTERVAL_MS) return null;
      lastPass = now;
      return pass();
    },
  };
}

export type RetentionService = ReturnType<typeof retentionService>;
