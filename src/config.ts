import { z } from 'zod';
import { TARGET_NAME, TARGET_NAME_SHAPE } from './domain/names.js';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The one schema over process.env (README.md, configuration). */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  BOOTSTRAP_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  POLICY_FOUR_EYES: booleanFromEnv.default(true),
  MAIN_TARGET: z.string().regex(TARGET_NAME, `must be a target name: ${TARGET_NAME_SHAPE}`).default('target'),
  /** Write requests per key per minute, across all replicas. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(3000),
  /** Requests without a key per client address per minute (each replica counts its own; health and metrics are exempt). */
  ANONYMOUS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** Requests with an unknown, revoked, expired or malformed key per client address per minute, per replica. */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /** Trust X-Forwarded-For from this many proxy hops (0: the peer's address is the client's). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(16).default(0),
  /** Request bodies being received or processed at once; past it (or past the bytes), 503 at once. */
  MAX_BODIES_IN_FLIGHT: z.coerce.number().int().positive().default(512),
  MAX_BODY_BYTES_IN_FLIGHT: z.coerce.number().int().positive().default(128 * 1024 * 1024),
  /** Mean event-loop delay past which requests get 503 until it recovers. */
  MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().positive().default(1000),
  /** Resolved eras whose current submissions keep their raw values; older ones keep only digest and rank codes (src/services/retention.ts). */
  RETAIN_SUBMISSIONS_ERAS: z.coerce.number().int().min(1).default(52),
  /** How often the scheduler makes era partitions ahead and applies retention, at most, per replica; a partition whose values went is rewritten a pass later. */
  RETENTION_INTERVAL_MS: z.coerce.number().int().positive().default(60_000),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Target columns one upload may hold; a body naming more is refused (400) before its values are read. */
  TARGETS_MAX_COLUMNS: z.coerce.number().int().positive().max(1024).default(64),
  /** Worker threads that prepare CSV submissions and parse large target uploads; 0 does both on the event loop. */
  INGEST_WORKERS: z.coerce.number().int().min(0).max(64).default(1),
  /** `wallet`: a stake raise is paid from the owner's wallet; `open`: play money, a raise needs no funds (counted as a credit). */
  STAKE_FUNDING: z.enum(['wallet', 'open']).default('wallet'),
  /** Hosts (names, addresses or CIDRs, comma-separated) webhooks may target although they are loopback or private; plain http only for these. */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim()).filter((h) => h !== '')),
  /** Seconds before each retry of a failed delivery (±10 % jitter); when spent, the delivery fails. */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/, 'must be comma-separated seconds, e.g. 5,300,1800')
    .default('5,300,1800,7200,18000,36000,36000')
    .transform((v) => v.split(',').map((s) => Math.round(Number(s) * 1000))),
  /** A delivery succeeds on a 2xx within this time. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Deliveries one replica attempts at once. */
  WEBHOOK_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  /** A queue job held longer than this (its worker died) is retried; longer than WEBHOOK_TIMEOUT_MS. */
  WEBHOOK_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(1).default(30),
  /** How often the queue looks for jobs whose worker died. */
  WEBHOOK_QUEUE_MAINTENANCE_SECONDS: z.coerce.number().int().min(1).default(30),
  /** Days events are kept for the stream's Last-Event-ID and the delivery log. */
  EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
  /** How often an open event stream looks for new events; and how often it sends a heartbeat comment. */
  EVENTS_STREAM_POLL_MS: z.coerce.number().int().min(10).default(250),
  EVENTS_HEARTBEAT_MS: z.coerce.number().int().min(10).default(15_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/**
 * Parses the environment; empty strings count as unset so `FOO= npm start` behaves. `defaults`
 * stand in for unset variables (the command line logs only warnings unless LOG_LEVEL says more).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaults: Partial<Record<keyof Config, string>> = {}): Config {
  const present = { ...defaults, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
