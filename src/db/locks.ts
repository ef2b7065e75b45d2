/**
 * Every PostgreSQL advisory lock the service takes, in one place, so that no two guards share a
 * key by accident. Transaction locks use the two-key form (class, key); the migrator's session
 * lock and the results lock use the one-key form, a separate key space.
 *
 * What each guards (the code that takes it is named beside it):
 */
export const LOCK_CLASS = {
  /** (class, era): one close of an era at a time; the scheduler skips an era another replica is closing (db/eras.ts). */
  close: 0x53570001,
  /** (class, era): one new run of an era at a time, so run seq numbers are dense (db/runs.ts). */
  runs: 0x53570002,
  /**
   * (class, 0): shared by stake changes, exclusive for closes and resolutions (db/ledger.ts). The
   * bundle chain is sealed inside a resolution and shares this lock (db/bundles.ts).
   */
  stake: 0x53570003,
  /** (class, 0): one audit entry appended to the hash chain at a time (db/audit.ts). */
  auditChain: 0x53570004,
  /** (class, 0): one replica at a time creates the bootstrap admin key (db/accounts.ts). */
  bootstrap: 0x53570005,
  /** (class, 0): one replica backfills report figures of older eras (db/reports.ts). */
  reportBackfill: 0x53570006,
  /**
   * (class, 0): policy activations, exclusive to activate, shared to read what is in force;
   * (class, hashtext(name)): version numbering per policy name (db/policies.ts).
   */
  policy: 0x5057,
  /**
   * (class, 0): one caller at a time makes era partitions (ensure_era_partitions() of migration
   * 0021, which holds this number as a literal; src/db/partitions.ts). (class, 1): one replica at a
   * time applies retention; (class, 2): one archive at a time (src/db/archive.ts).
   */
  partitions: 0x53570021,
} as const;

/** One-key locks. */
export const LOCK_KEY = {
  /** Session lock held while migrating, so replicas starting together migrate once (db/migrate.ts). */
  migration: 7_240_117_001,
  /** Running totals of resolved eras are written one era at a time (db/results.ts). */
  results: 7_240_117_016,
  /**
   * Session lock held while a replica starts the job queue and creates its queues (db/queue.ts):
   * pg-boss attaches a partition per queue, and two replicas doing it at once can deadlock.
   */
  queueStart: 7_240_117_017,
} as const;
