import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** Packed little-endian vectors: one row per submission, never one row per prediction (DESIGN section 6). */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
/** The era, model or submission a row belongs to. */
const eraNumber = () => integer('era_number').notNull().references(() => eras.number);
const modelId = () => uuid('model_id').notNull().references(() => models.id);
const submissionId = () => uuid('submission_id').notNull().references(() => submissions.id);

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    role: text('role', { enum: ['admin', 'operator', 'author'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [check('accounts_role_check', sql`${t.role} in ('admin', 'operator', 'author')`)],
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
  },
  (t) => [uniqueIndex('api_keys_secret_hash_key').on(t.secretHash), index('api_keys_account_idx').on(t.accountId)],
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

/** Append-only stake history: `set` by the owner, `payout` once per era at resolution. */
export const stakeEvents = pgTable(
  'stake_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: modelId(),
    kind: text('kind', { enum: ['set', 'payout'] }).notNull(),
    /** Change this event made to the stake (for `set`, new minus previous). */
    delta: numeric('delta').notNull(),
    /** Stake after this event. */
    balance: numeric('balance').notNull(),
    eraNumber: integer('era_number').references(() => eras.number),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('stake_events_kind_check', sql`${t.kind} in ('set', 'payout')`),
    check('stake_events_payout_era_check', sql`(${t.kind} = 'payout') = (${t.eraNumber} is not null)`),
    index('stake_events_model_at_idx').on(t.modelId, t.at, t.id),
    uniqueIndex('stake_events_payout_once_key').on(t.modelId, t.eraNumber).where(sql`${t.kind} = 'payout'`),
  ],
);

export const submissions = pgTable(
  'submissions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eraNumber: eraNumber(),
    modelId: modelId(),
    sha256: text('sha256').notNull(),
    rows: integer('rows').notNull(),
    /** Number of live ids the submission covers (m of the tie-kept rank). */
    covered: integer('covered').notNull(),
    late: boolean('late').notNull(),
    superseded: boolean('superseded').notNull().default(false),
    /** Raw values as received, aligned to universe positions, in `raw_encoding` (domain/raw.ts). */
    raw: bytea('raw').notNull(),
    rawEncoding: text('raw_encoding', { enum: ['float64', 'decimal'] }).notNull().default('float64'),
    /** Prepared vector as exact rank codes (see domain/prepared.ts). */
    ranks: bytea('ranks').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('submissions_model_idx').on(t.modelId, t.createdAt),
    index('submissions_era_idx').on(t.eraNumber),
    uniqueIndex('submissions_current_key')
      .on(t.eraNumber, t.modelId, t.late)
      .where(sql`not ${t.superseded}`),
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
  },
  (t) => [primaryKey({ columns: [t.runId, t.modelId] })],
);

export const targets = pgTable(
  'targets',
  {
    eraNumber: eraNumber(),
    name: text('name').notNull(),
    /** Float64 LE aligned to universe positions, NaN where the id has no target. */
    values: bytea('values').notNull(),
    count: integer('count').notNull(),
    uploadedAt: timestamp('uploaded_at', { withTimezone: true }).notNull().defaultNow(),
    uploadedBy: uuid('uploaded_by').references(() => accounts.id),
  },
  (t) => [primaryKey({ columns: [t.eraNumber, t.name] })],
);

export const scores = pgTable(
  'scores',
  {
    submissionId: submissionId(),
    target: text('target').notNull(),
    eraNumber: eraNumber(),
    modelId: modelId(),
    runId: uuid('run_id').references(() => metaModelRuns.id),
    status: text('status').notNull(),
    corr: doublePrecision('corr'),
    mmc: doublePrecision('mmc'),
    /** At-risk stake and projected payout: only for the on-time submission on the main target. */
    stake: numeric('stake'),
    payout: numeric('payout'),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.submissionId, t.target] }),
    index('scores_era_target_idx').on(t.eraNumber, t.target),
    index('scores_model_idx').on(t.modelId),
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
  },
  (t) => [index('audit_log_subject_idx').on(t.subject, t.id), index('audit_log_at_idx').on(t.at)],
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

/** The cost of the policy per era and target (DESIGN section 2 step 12), on the latest run and target version. */
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
