import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** Packed little-endian vectors: one row per submission, never one row per prediction (BENCHMARKS.md). */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
/** The era, model or submission a row belongs to. */
const eraNumber = () => integer('era_number').notNull().references(() => eras.number);
const modelId = () => uuid('model_id').notNull().references(() => models.id);
/**
 * A submission named by its id alone. submissions is partitioned by era (migration 0021), so its
 * key is (era_number, id): a foreign key to it names the era too (run_inputs), and a score keeps
 * none, so that an archived era's scores stay (docs/operations.md).
 */
const submissionId = () => uuid('submission_id').notNull();

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    role: text('role', { enum: ['admin', 'operator', 'author'] }).notNull(),
    createdAt: createdAt(),
    /** `pending`: an admin made over HTTP, until a different admin confirms it; `disabled`: its keys revoked with it. */
    status: text('status', { enum: ['active', 'pending', 'disabled'] }).notNull().default('active'),
    /** The admin who made it over HTTP; null for the command line, BOOTSTRAP_ADMIN_KEY and accounts older than this column. */
    createdBy: uuid('created_by').references((): AnyPgColumn => accounts.id),
    confirmedBy: uuid('confirmed_by').references((): AnyPgColumn => accounts.id),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
  },
  (t) => [
    check('accounts_role_check', sql`${t.role} in ('admin', 'operator', 'author')`),
    check('accounts_status_check', sql`${t.status} in ('active', 'pending', 'disabled')`),
    check('accounts_pending_check', sql`${t.status} <> 'pending' OR (${t.role} = 'admin' AND ${t.createdBy} IS NOT NULL)`),
    check('accounts_confirmer_check', sql`${t.confirmedBy} IS NULL OR ${t.confirmedBy} IS DISTINCT FROM ${t.createdBy}`),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    /** sha256 of the secret; secrets are 256-bit random so a fast hash is enough. */
    secretHash: text('secret_hash').notNull(),
    /** First characters of the secret, so a person can tell keys apart. */
    hint: text('hint').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** What the key may do: 'all' (its account's role) or some of submit, stake, read. */
    scopes: text('scopes', { enum: ['all', 'submit', 'stake', 'read'] }).array().notNull().default(sql`'{all}'`),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('api_keys_secret_hash_key').on(t.secretHash),
    index('api_keys_account_idx').on(t.accountId),
    check('api_keys_scopes_check', sql`cardinality(${t.scopes}) > 0 AND ${t.scopes} <@ ARRAY['all', 'submit', 'stake', 'read']::text[]`),
  ],
);

/** The shared write rate limit: requests taken per bucket (an API key) per minute, by every replica. */
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    bucket: text('bucket').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    used: integer('used').notNull(),
  },
  (t) => [primaryKey({ name: 'rate_limit_counters_pkey', columns: [t.bucket, t.windowStart] })],
);

export const eras = pgTable(
  'eras',
  {
    number: integer('number').primaryKey(),
    opensAt: timestamp('opens_at', { withTimezone: true }).notNull(),
    closesAt: timestamp('closes_at', { withTimezone: true }).notNull(),
    mainTarget: text('main_target').notNull(),
    /** Share of live ids a submission must cover, in (0, 1]. */
    minCoverage: doublePrecision('min_coverage').notNull().default(1),
    corrMultiplier: numeric('corr_multiplier').notNull().default('0.5'),
    mmcMultiplier: numeric('mmc_multiplier').notNull().default('2'),
    clip: numeric('clip').notNull().default('0.05'),
    stakeThreshold: numeric('stake_threshold').notNull().default('72000'),
    universeSize: integer('universe_size').notNull().default(0),
    /** sha256 of the universe ids in order: identifies the universe a cached index belongs to. */
    universeDigest: text('universe_digest'),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => accounts.id),
    createdAt: createdAt(),
  },
  (t) => [
    check('eras_window_check', sql`${t.closesAt} > ${t.opensAt}`),
    check('eras_number_check', sql`${t.number} >= 0`),
    index('eras_open_idx').on(t.closesAt).where(sql`${t.closedAt} is null`),
  ],
);

export const universeRows = pgTable(
  'universe_rows',
  {
    eraNumber: eraNumber(),
    /** Order of the id in the universe: every packed vector of the era is aligned to it. */
    position: integer('position').notNull(),
    id: text('id').notNull(),
    sector: text('sector'),
    industry: text('industry'),
    country: text('country'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    attributes: jsonb('attributes').$type<Record<string, number | string>>().notNull().default({}),
  },
  (t) => [
    primaryKey({ columns: [t.eraNumber, t.position] }),
    uniqueIndex('universe_rows_era_id_key').on(t.eraNumber, t.id),
  ],
);

export const models = pgTable(
  'models',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('models_name_key').on(t.name), index('models_account_idx').on(t.accountId)],
);

/**
 * The stake ledger (docs/stakes.md; written by db/ledger.ts): one append-only entry per
 * movement with the amount and balance after it. Each entry names the one before it through
 * (prev_seq, prev_balance, prev_amount), a foreign key into the same table, and a check makes
 * balance = prev_balance + delta: balance = Σ delta is held by the database.
 */
export const stakeEntries = pgTable(
  'stake_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: modelId(),
    /** 1, 2, 3 … per model */
    seq: integer('seq').notNull(),
    kind: text('kind', { enum: ['deposit', 'release_requested', 'released', 'payout', 'burn'] }).notNull(),
    /** Signed change of the balance (0 for release_requested). */
    delta: numeric('delta').notNull(),
    /** Amount staked on eras that close from now on, after this entry. */
    amount: numeric('amount').notNull(),
    balance: numeric('balance').notNull(),
    prevSeq: integer('prev_seq'),
    prevAmount: numeric('prev_amount'),
    prevBalance: numeric('prev_balance'),
    /** The era a payout or burn settles, or whose resolution completed a release. */
    eraNumber: integer('era_number').references(() => eras.number),
    releaseId: bigint('release_id', { mode: 'number' }).references(() => stakeReleases.id),
    /** Why an entry is not what the rule alone would say (a burn cut at the balance, taken from releases). */
    note: text('note'),
    /** Stamped inside the stake lock (db/ledger.ts), so a close's cutoff orders it against the snapshot. */
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
  },
  (t) => [
    check('stake_entries_kind_check', sql`${t.kind} in ('deposit', 'release_requested', 'released', 'payout', 'burn')`),
    check('stake_entries_balance_check', sql`${t.balance} >= 0 AND ${t.amount} >= 0 AND ${t.amount} <= ${t.balance}`),
    check(
      'stake_entries_chain_check',
      sql`(${t.seq} = 1 AND ${t.prevSeq} IS NULL AND ${t.prevAmount} IS NULL AND ${t.prevBalance} IS NULL AND ${t.balance} = ${t.delta} AND ${t.kind} = 'deposit')
      OR (${t.seq} > 1 AND ${t.prevSeq} = ${t.seq} - 1 AND ${t.prevAmount} IS NOT NULL AND ${t.prevBalance} IS NOT NULL AND ${t.balance} = ${t.prevBalance} + ${t.delta})`,
    ),
    check(
      'stake_entries_movement_check',
      sql`CASE ${t.kind}
      WHEN 'deposit' THEN ${t.delta} > 0 AND ${t.amount} = coalesce(${t.prevAmount}, 0) + ${t.delta}
      WHEN 'release_requested' THEN ${t.delta} = 0 AND ${t.amount} < ${t.prevAmount}
      WHEN 'released' THEN ${t.delta} <= 0 AND ${t.amount} = ${t.prevAmount}
      WHEN 'payout' THEN ${t.delta} >= 0 AND ${t.amount} = ${t.prevAmount} + ${t.delta}
      WHEN 'burn' THEN ${t.delta} <= 0 AND ${t.amount} = greatest(${t.prevAmount} + ${t.delta}, 0)
    END`,
    ),
    check('stake_entries_era_check', sql`${t.kind} NOT IN ('payout', 'burn') OR ${t.eraNumber} IS NOT NULL`),
    check('stake_entries_release_check', sql`(${t.kind} IN ('release_requested', 'released')) = (${t.releaseId} IS NOT NULL)`),
    uniqueIndex('stake_entries_model_seq_key').on(t.modelId, t.seq),
    uniqueIndex('stake_entries_chain_key').on(t.modelId, t.seq, t.balance, t.amount),
    foreignKey({
      name: 'stake_entries_previous_fk',
      columns: [t.modelId, t.prevSeq, t.prevBalance, t.prevAmount],
      foreignColumns: [t.modelId, t.seq, t.balance, t.amount],
    }),
    uniqueIndex('stake_entries_settled_once_key').on(t.modelId, t.eraNumber).where(sql`${t.kind} in ('payout', 'burn')`),
    uniqueIndex('stake_entries_requested_once_key').on(t.releaseId).where(sql`${t.kind} = 'release_requested'`),
    uniqueIndex('stake_entries_released_once_key').on(t.releaseId).where(sql`${t.kind} = 'released'`),
    index('stake_entries_era_idx').on(t.eraNumber).where(sql`${t.eraNumber} is not null`),
  ],
);

/** Lowered stake on its way out: it leaves when every era in stake_release_eras has resolved; burns take from `remaining`. */
export const stakeReleases = pgTable(
  'stake_releases',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: modelId(),
    amount: numeric('amount').notNull(),
    remaining: numeric('remaining').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
    releasedAt: timestamp('released_at', { withTimezone: true }),
  },
  (t) => [
    check('stake_releases_amount_check', sql`${t.amount} > 0 AND ${t.remaining} >= 0 AND ${t.remaining} <= ${t.amount}`),
    index('stake_releases_open_idx').on(t.modelId, t.id).where(sql`${t.releasedAt} is null`),
  ],
);

/** The eras a release waits for: those the model had stake at risk in when it was requested. */
export const stakeReleaseEras = pgTable(
  'stake_release_eras',
  {
    releaseId: bigint('release_id', { mode: 'number' })
      .notNull()
      .references(() => stakeReleases.id),
    eraNumber: eraNumber(),
  },
  (t) => [primaryKey({ columns: [t.releaseId, t.eraNumber] }), index('stake_release_eras_era_idx').on(t.eraNumber)],
);

/**
 * Partitioned by RANGE (era_number), one partition per era (submissions_e<N>) and a DEFAULT one,
 * by migration 0021 and src/db/partitions.ts: drizzle-kit cannot express partitions, so this
 * describes the parent's columns and keys only (its storage: raw and ranks EXTERNAL, 0001/0021).
 */
export const submissions = pgTable(
  'submissions',
  {
    id: uuid('id').notNull().defaultRandom(),
    eraNumber: eraNumber(),
    modelId: modelId(),
    sha256: text('sha256').notNull(),
    rows: integer('rows').notNull(),
    /** Number of live ids the submission covers (m of the tie-kept rank). */
    covered: integer('covered').notNull(),
    late: boolean('late').notNull(),
    superseded: boolean('superseded').notNull().default(false),
    /**
     * Raw values as received, aligned to universe positions, in `raw_encoding` (domain/raw.ts);
     * null once retention dropped them (src/services/retention.ts): after resolution for a
     * superseded submission, RETAIN_SUBMISSIONS_ERAS resolved eras later for a current one.
     */
    raw: bytea('raw'),
    /** Prepared vector as exact rank codes (see domain/prepared.ts). */
    ranks: bytea('ranks').notNull(),
    createdAt: createdAt(),
    rawEncoding: text('raw_encoding', { enum: ['float64', 'decimal'] }).notNull().default('float64'),
  },
  (t) => [
    primaryKey({ columns: [t.eraNumber, t.id] }),
    // A model's submissions across eras, newest first (GET /v1/models/{id}/submissions): one probe per era's partition.
    index('submissions_model_idx').on(t.modelId, t.createdAt),
    uniqueIndex('submissions_current_key')
      .on(t.eraNumber, t.modelId, t.late)
      .where(sql`not ${t.superseded}`),
    check('submissions_raw_encoding_check', sql`${t.rawEncoding} IN ('float64', 'decimal')`),
  ],
);

export const policies = pgTable(
  'policies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    document: jsonb('document').notNull(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => accounts.id),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('policies_name_version_key').on(t.name, t.version)],
);

/**
 * Which version is in force for which eras: each activation from `fromEra` until the next one's
 * (ordered by fromEra, then id). A later activation cancels a schedule that has not taken force.
 */
export const policyActivations = pgTable(
  'policy_activations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    policyId: uuid('policy_id')
      .notNull()
      .references(() => policies.id),
    fromEra: integer('from_era').notNull(),
    /** true when the approver named fromEra; false for "at once" */
    scheduled: boolean('scheduled').notNull(),
    activatedAt: timestamp('activated_at', { withTimezone: true }).notNull().defaultNow(),
    activatedBy: uuid('activated_by').references(() => accounts.id),
    reason: text('reason').notNull(),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    /** the activation that replaced this schedule */
    cancelledBy: bigint('cancelled_by', { mode: 'number' }),
  },
  (t) => [
    check('policy_activations_from_era_check', sql`${t.fromEra} >= 0`),
    index('policy_activations_in_force_idx').on(t.fromEra, t.id).where(sql`${t.cancelledAt} is null`),
  ],
);

/** A draft an admin turned down, with why (append-only; migration 0018). A rejected draft is never activated. */
export const policyRejections = pgTable('policy_rejections', {
  policyId: uuid('policy_id')
    .primaryKey()
    .references(() => policies.id),
  rejectedBy: uuid('rejected_by')
    .notNull()
    .references(() => accounts.id),
  reason: text('reason').notNull(),
  rejectedAt: timestamp('rejected_at', { withTimezone: true }).notNull().defaultNow(),
});

export const metaModelRuns = pgTable(
  'meta_model_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eraNumber: eraNumber(),
    /** 1 for the closing run, then one more per recompute. */
    seq: integer('seq').notNull(),
    trigger: text('trigger', { enum: ['close', 'recompute'] }).notNull(),
    policyId: uuid('policy_id').references(() => policies.id),
    models: integer('models').notNull(),
    totalStake: numeric('total_stake').notNull(),
    tradable: integer('tradable').notNull(),
    /** Float64 LE vectors aligned to universe positions. */
    unconstrained: bytea('unconstrained').notNull(),
    signal: bytea('signal').notNull(),
    value: bytea('value').notNull(),
    /** Sparse: universe position → rule ids. */
    excludedBy: jsonb('excluded_by').$type<Record<string, string[]>>().notNull(),
    observedBy: jsonb('observed_by').$type<Record<string, string[]>>().notNull(),
    /** Per-rule counts and, in shadow mode, what enforcing would have done. */
    policyReport: jsonb('policy_report'),
    /** The era report's figures of this run (counts, tilts, deciles, exposures), computed once with it. */
    report: jsonb('report'),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
    durationMs: doublePrecision('duration_ms').notNull(),
    computedBy: uuid('computed_by').references(() => accounts.id),
  },
  (t) => [uniqueIndex('meta_model_runs_era_seq_key').on(t.eraNumber, t.seq)],
);

/** Lineage: which submission and stake of each model went into a run. */
/** Partitioned by RANGE (era_number) like submissions (migration 0021); era_number is the run's era. */
export const runInputs = pgTable(
  'run_inputs',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => metaModelRuns.id),
    modelId: modelId(),
    submissionId: submissionId(),
    sha256: text('sha256').notNull(),
    stake: numeric('stake').notNull(),
    eraNumber: integer('era_number').notNull(),
  },
  (t) => [
    // The key to submissions is each partition's, not the parent's (migration 0024, src/db/partitions.ts):
    // run_inputs_e<N> references submissions_e<N>, the DEFAULT partition the parent submissions.
    primaryKey({ columns: [t.runId, t.modelId, t.eraNumber] }),
  ],
);

/**
 * What retention and archiving did to an era's submissions and run inputs (src/services/retention.ts,
 * src/services/archive.ts): when superseded submissions' raw values were dropped, when current ones'
 * were, when its partitions were detached and when they were written out (`archive`: the manifest).
 */
export const eraStorage = pgTable('era_storage', {
  eraNumber: integer('era_number')
    .primaryKey()
    .references(() => eras.number),
  supersededValuesDroppedAt: timestamp('superseded_values_dropped_at', { withTimezone: true }),
  valuesDroppedAt: timestamp('values_dropped_at', { withTimezone: true }),
  /** When its submissions partition was last rewritten to give the dropped values' space back. */
  compactedAt: timestamp('compacted_at', { withTimezone: true }),
  detachedAt: timestamp('detached_at', { withTimezone: true }),
  archivedAt: timestamp('archived_at', { withTimezone: true }),
  archive: jsonb('archive'),
});

export const targets = pgTable(
  'targets',
  {
    eraNumber: eraNumber(),
    name: text('name').notNull(),
    /** 1 for the first upload of this name in the era, then one more per upload; every version is kept. */
    version: integer('version').notNull(),
    /** Float64 LE aligned to universe positions, NaN where the id has no target. */
    values: bytea('values').notNull(),
    count: integer('count').notNull(),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
    uploadedBy: uuid('uploaded_by').references(() => accounts.id),
  },
  (t) => [primaryKey({ columns: [t.eraNumber, t.name, t.version] }), check('targets_version_check', sql`${t.version} >= 1`)],
);

/**
 * The submissions scored in an era, in the order they were first scored, with their models: the
 * positions every score_sets array of the era is aligned to (migration 0022, src/db/scores.ts).
 * No foreign keys, so that an archived era's scores stay.
 */
export const scoreOrders = pgTable(
  'score_orders',
  {
    eraNumber: integer('era_number').primaryKey(),
    submissionIds: uuid('submission_ids').array().notNull(),
    modelIds: uuid('model_ids').array().notNull(),
    /** Each position's lateness, so an era's scores read without its submissions (archived ones too; migration 0025). */
    lates: boolean('lates').array().notNull(),
  },
  (t) => [
    check('score_orders_aligned_check', sql`cardinality(${t.submissionIds}) = cardinality(${t.modelIds})`),
    check('score_orders_lates_aligned_check', sql`cardinality(${t.lates}) = cardinality(${t.submissionIds})`),
    // The eras a model was scored in (src/db/scores.ts erasWithScores).
    index('score_orders_model_ids_idx').using('gin', t.modelIds),
  ],
);

/**
 * Packed scores: one row per era, target and version, each array aligned to the era's score
 * order; a NULL status means no score at that position. The view "scores" (migration 0022, not
 * described here) unpacks them into one row per submission, target and version.
 */
export const scoreSets = pgTable(
  'score_sets',
  {
    eraNumber: integer('era_number').notNull(),
    target: text('target').notNull(),
    /** The target version scored (no foreign key: the set is written with the version, in its transaction). */
    targetVersion: integer('target_version').notNull(),
    /** The era's run the set was last scored against. */
    runId: uuid('run_id'),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
    statuses: text('statuses').array().notNull(),
    corrs: doublePrecision('corrs').array().notNull(),
    mmcs: doublePrecision('mmcs').array().notNull(),
    /** At-risk stake and payout: only at the on-time submissions of the closing run, on the main target. */
    stakes: numeric('stakes').array().notNull(),
    payouts: numeric('payouts').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.eraNumber, t.target, t.targetVersion] })],
);

/**
 * Written once per resolved era (src/db/results.ts), read by performance and the leaderboard:
 * per target, model and resolved era the model took part in (an on-time current submission),
 * its scores, the era's at-risk stake and payout, and its running totals over the resolved eras
 * up to this one. Nothing is written for an era a model missed: its totals as of any era are
 * those of its latest row up to it, and a window's totals are the difference of two such rows.
 * Columns in the migration's order (0023), fixed-width first, so rows carry no padding.
 */
export const modelEraResults = pgTable(
  'model_era_results',
  {
    eraNumber: eraNumber(),
    /** Running totals over the resolved eras up to this one, of the eras with both scores. */
    scoredEras: integer('scored_eras').notNull(),
    corr: doublePrecision('corr'),
    mmc: doublePrecision('mmc'),
    corrTotal: doublePrecision('corr_total').notNull(),
    mmcTotal: doublePrecision('mmc_total').notNull(),
    /** Σ corrMultiplier·CORR + mmcMultiplier·MMC with each era's multipliers. */
    scoreTotal: doublePrecision('score_total').notNull(),
    modelId: modelId(),
    target: text('target').notNull(),
    /** At-risk stake and payout of the era (paid on its main target), whatever the target. */
    stake: numeric('stake'),
    payout: numeric('payout'),
  },
  (t) => [
    // Also a model's series on one target in era order, and its latest row up to an era.
    primaryKey({ columns: [t.target, t.modelId, t.eraNumber] }),
    // A leaderboard window's rows, and an era's rows.
    index('model_era_results_target_era_idx').on(t.target, t.eraNumber),
  ],
);

/** Append-only: UPDATE, DELETE and TRUNCATE are refused by a trigger (see migrations). */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    reason: text('reason'),
    details: jsonb('details'),
    /** SHA-256 of the entry's canonical content, and of the previous entry's chain digest ‖ that (domain/chain.ts). */
    digest: text('digest'),
    chainDigest: text('chain_digest'),
    /** The actor by name (an account's name, `command line`, `scheduler`, …) and the key it used; null on entries older than them. */
    actorName: text('actor_name'),
    keyId: uuid('key_id').references(() => apiKeys.id),
    /** Which content the digest covers: 1 before actorName and keyId were recorded, 2 since (domain/chain.ts). */
    digestVersion: smallint('digest_version').notNull().default(1),
  },
  (t) => [
    index('audit_log_subject_idx').on(t.subject, t.id),
    index('audit_log_at_idx').on(t.at),
    check('audit_log_digest_version_check', sql`${t.digestVersion} in (1, 2)`),
  ],
);

/**
 * The verification bundle of each resolved era (docs/reports.md), fixed at resolution: its
 * canonical JSON bytes as served, and its place in the chain of resolved eras. Append-only.
 */
export const eraBundles = pgTable(
  'era_bundles',
  {
    eraNumber: integer('era_number')
      .primaryKey()
      .references(() => eras.number),
    /** 1 for the first era resolved, then one more per resolution: the order of the chain. */
    position: integer('position').notNull(),
    content: bytea('content').notNull(),
    digest: text('digest').notNull(),
    previousChainDigest: text('previous_chain_digest').notNull(),
    chainDigest: text('chain_digest').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('era_bundles_position_key').on(t.position),
    uniqueIndex('era_bundles_previous_key').on(t.previousChainDigest),
    check('era_bundles_position_check', sql`${t.position} >= 1`),
    check(
      'era_bundles_digests_check',
      sql`${t.digest} ~ '^[0-9a-f]{64}$' and ${t.previousChainDigest} ~ '^[0-9a-f]{64}$' and ${t.chainDigest} ~ '^[0-9a-f]{64}$'`,
    ),
  ],
);

/** The summary's point of each closed era, from its latest run and targets. */
export const eraReportPoints = pgTable('era_report_points', {
  eraNumber: integer('era_number')
    .primaryKey()
    .references(() => eras.number),
  runId: uuid('run_id')
    .notNull()
    .references(() => metaModelRuns.id),
  totalStake: numeric('total_stake').notNull(),
  point: jsonb('point').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The cost of the policy per era and target (docs/reports.md, cost of the policy), on the latest run and target version. */
export const policyCosts = pgTable(
  'policy_costs',
  {
    eraNumber: eraNumber(),
    target: text('target').notNull(),
    runId: uuid('run_id')
      .notNull()
      .references(() => metaModelRuns.id),
    unconstrained: doublePrecision('unconstrained'),
    traded: doublePrecision('traded'),
    cost: doublePrecision('cost'),
    byRule: jsonb('by_rule').$type<{ ruleId: string; cost: number | null }[]>().notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.eraNumber, t.target] })],
);

/** Running totals of policy_costs per target, kept in step with it. */
export const policyCostTotals = pgTable('policy_cost_totals', {
  target: text('target').primaryKey(),
  eras: integer('eras').notNull().default(0),
  unconstrained: doublePrecision('unconstrained').notNull().default(0),
  traded: doublePrecision('traded').notNull().default(0),
  cost: doublePrecision('cost').notNull().default(0),
});

/** An author's request to take money out of its wallet (migration 0011): pending until staff decide, once. */
export const withdrawals = pgTable(
  'withdrawals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    amount: numeric('amount').notNull(),
    status: text('status', { enum: ['pending', 'completed', 'rejected'] }).notNull().default('pending'),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: uuid('decided_by').references(() => accounts.id),
    /** the outside payment of a completed withdrawal */
    reference: text('reference'),
    /** why a withdrawal was rejected */
    reason: text('reason'),
  },
  (t) => [
    check('withdrawals_amount_check', sql`${t.amount} > 0`),
    check('withdrawals_status_check', sql`${t.status} in ('pending', 'completed', 'rejected')`),
    check(
      'withdrawals_decision_check',
      sql`(${t.status} = 'pending') = (${t.decidedAt} IS NULL)
      AND (${t.status} <> 'completed' OR ${t.reference} IS NOT NULL)
      AND (${t.status} <> 'rejected' OR ${t.reason} IS NOT NULL)`,
    ),
    index('withdrawals_pending_idx').on(t.requestedAt).where(sql`${t.status} = 'pending'`),
    index('withdrawals_account_idx').on(t.accountId),
  ],
);

/** Every movement of an account's wallet (migration 0011): chained like stake_entries; balance ≥ 0, 0 ≤ held ≤ balance. */
export const walletEntries = pgTable(
  'wallet_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    /** 1, 2, 3 … per account */
    seq: integer('seq').notNull(),
    kind: text('kind', { enum: ['credit', 'stake', 'unstake', 'withdrawal_held', 'withdrawal_released', 'withdrawn'] }).notNull(),
    /** Signed change of the balance (0 for withdrawal_held and withdrawal_released). */
    delta: numeric('delta').notNull(),
    /** All the wallet holds after this entry, including what pending withdrawals hold. */
    balance: numeric('balance').notNull(),
    /** What pending withdrawals hold after this entry. */
    held: numeric('held').notNull(),
    prevSeq: integer('prev_seq'),
    prevBalance: numeric('prev_balance'),
    prevHeld: numeric('prev_held'),
    modelId: uuid('model_id').references(() => models.id),
    withdrawalId: uuid('withdrawal_id').references(() => withdrawals.id),
    /** A credit's outside payment, a completed withdrawal's payment, a rejection's reason. */
    reference: text('reference'),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
  },
  (t) => [
    check('wallet_entries_kind_check', sql`${t.kind} in ('credit', 'stake', 'unstake', 'withdrawal_held', 'withdrawal_released', 'withdrawn')`),
    check('wallet_entries_balance_check', sql`${t.balance} >= 0 AND ${t.held} >= 0 AND ${t.held} <= ${t.balance}`),
    check(
      'wallet_entries_chain_check',
      sql`(${t.seq} = 1 AND ${t.prevSeq} IS NULL AND ${t.prevBalance} IS NULL AND ${t.prevHeld} IS NULL
        AND ${t.balance} = ${t.delta} AND ${t.held} = 0 AND ${t.kind} = 'credit')
      OR (${t.seq} > 1 AND ${t.prevSeq} = ${t.seq} - 1 AND ${t.prevBalance} IS NOT NULL AND ${t.prevHeld} IS NOT NULL
        AND ${t.balance} = ${t.prevBalance} + ${t.delta})`,
    ),
    check(
      'wallet_entries_movement_check',
      sql`CASE ${t.kind}
      WHEN 'credit' THEN ${t.delta} > 0 AND ${t.held} = coalesce(${t.prevHeld}, 0) AND ${t.reference} IS NOT NULL AND ${t.withdrawalId} IS NULL
      WHEN 'stake' THEN ${t.delta} < 0 AND ${t.held} = ${t.prevHeld} AND ${t.modelId} IS NOT NULL AND ${t.withdrawalId} IS NULL
      WHEN 'unstake' THEN ${t.delta} > 0 AND ${t.held} = ${t.prevHeld} AND ${t.modelId} IS NOT NULL AND ${t.withdrawalId} IS NULL
      WHEN 'withdrawal_held' THEN ${t.delta} = 0 AND ${t.held} > ${t.prevHeld} AND ${t.withdrawalId} IS NOT NULL
      WHEN 'withdrawal_released' THEN ${t.delta} = 0 AND ${t.held} < ${t.prevHeld} AND ${t.withdrawalId} IS NOT NULL
      WHEN 'withdrawn' THEN ${t.delta} < 0 AND ${t.held} = ${t.prevHeld} + ${t.delta} AND ${t.withdrawalId} IS NOT NULL
    END`,
    ),
    uniqueIndex('wallet_entries_account_seq_key').on(t.accountId, t.seq),
    uniqueIndex('wallet_entries_chain_key').on(t.accountId, t.seq, t.balance, t.held),
    foreignKey({
      name: 'wallet_entries_previous_fk',
      columns: [t.accountId, t.prevSeq, t.prevBalance, t.prevHeld],
      foreignColumns: [t.accountId, t.seq, t.balance, t.held],
    }),
    uniqueIndex('wallet_entries_held_once_key').on(t.withdrawalId).where(sql`${t.kind} = 'withdrawal_held'`),
    uniqueIndex('wallet_entries_decided_once_key').on(t.withdrawalId).where(sql`${t.kind} in ('withdrawal_released', 'withdrawn')`),
  ],
);

/** Events (migration 0017): written in the transaction that causes them, by emit_events (src/db/events.ts). */
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    /** null: every account sees it; else only this account (the owner of the model it is about) */
    accountId: uuid('account_id').references(() => accounts.id),
    data: jsonb('data').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('events_created_at').on(t.createdAt), index('events_account').on(t.accountId, t.id)],
);

export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    description: text('description'),
    secret: text('secret').notNull(),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_account').on(t.accountId), check('webhooks_events_check', sql`cardinality(${t.events}) > 0`)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' })
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** a queue job for the next attempt exists; false: the sweep enqueues one */
    queued: boolean('queued').notNull().default(false),
    lastStatusCode: integer('last_status_code'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    check('webhook_deliveries_status_check', sql`${t.status} in ('pending', 'delivered', 'failed')`),
    unique('webhook_deliveries_once').on(t.webhookId, t.eventId),
    index('webhook_deliveries_by_webhook').on(t.webhookId, t.createdAt.desc(), t.id),
    index('webhook_deliveries_to_queue').on(t.createdAt).where(sql`${t.status} = 'pending' AND NOT ${t.queued}`),
    index('webhook_deliveries_event').on(t.eventId),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().default(sql`clock_timestamp()`),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.number] })],
);

/** An era's era.opened event is written once (at creation or by the scheduler); a row per announced era. */
export const eraOpenings = pgTable('era_openings', {
  eraNumber: integer('era_number')
    .primaryKey()
    .references(() => eras.number),
  announcedAt: timestamp('announced_at', { withTimezone: true }).notNull().defaultNow(),
});
