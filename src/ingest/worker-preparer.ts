import type { LiveUniverse } from './aligned.js';
import type { IngestBody } from './id-value.js';
import { type PreparedSubmission, prepareSubmission } from './prepare.js';
import type { BodyProblem } from './problems.js';
import type { TargetParseOptions, TargetText } from './target.js';
import { type ParsedNamedTarget, parseTargetText } from './targets.js';
import { workerPool } from './worker-pool.js';

export interface PrepareOptions {
  era: number;
  minCoverage: number;
}

/** A universe as ingest holds it; its digest names it across threads. */
export type DigestedUniverse = LiveUniverse & { readonly digest: string };

/**
 * Turns a submission body into what is stored (prepareSubmission), and a target upload into its
 * aligned columns (parseTarget, parseTargets), here or elsewhere.
 */
export interface Preparer {
  prepare(body: IngestBody, universe: DigestedUniverse, options: PrepareOptions): Promise<PreparedSubmission>;
  parseTargets(body: TargetText, universe: DigestedUniverse, options: TargetParseOptions): Promise<ParsedNamedTarget[]>;
  close(): Promise<void>;
}

/** What a worker does with a request's text. */
export type PrepareTask = { kind: 'submission'; options: PrepareOptions } | { kind: 'targets'; body: TargetText['kind']; options: TargetParseOptions };

/** What the main thread sends a worker; `ids` only when the worker may not have that universe. */
export interface PrepareRequest {
  id: number;
  digest: string;
  ids?: readonly string[];
  text: string;
  task: PrepareTask;
}

type TransferredSubmission = Omit<PreparedSubmission, 'raw' | 'ranks'> & { raw: Uint8Array; ranks: Uint8Array };

export type PrepareReply =
  | { id: number; prepared: TransferredSubmission }
  | { id: number; targets: ParsedNamedTarget[] }
  | { id: number; missingUniverse: true }
  | { id: number; invalid: { problems: BodyProblem[]; status: number } }
  | { id: number; failed: string };

/**
 * Bodies shorter than this (in UTF-16 code units) are prepared on the event loop, whatever their
 * format: below it a thread hop costs more than it saves. A 6,000-id CSV submission is ~100 KB.
 */
export const WORKER_MIN_CHARS = 64 * 1024;

/** Prepares on the calling thread. */
export const inlinePreparer: Preparer = {
  prepare: async (body, universe, options) => prepareSubmission(body, universe, options),
  parseTargets: async (body, universe, options) => parseTargetText(body, universe, options),
  close: async () => {},
};

const bytes = (view: Uint8Array) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/**
 * One rule for every body that has text: a body of at least `minChars` (WORKER_MIN_CHARS) is
 * prepared (a submission: parsed, checked, ranked) or parsed (a target upload) on one of `count`
 * worker threads (worker-pool.ts), so the event loop goes on serving requests and talking to
 * PostgreSQL; a shorter one on the event loop. The encoded vectors come back transferred, not copied.
 *
 * A JSON submission has no text here: fastify parsed it on the event loop (exact-json.ts refuses
 * repeated keys there), and copying the parsed value to a worker would cost more than preparing
 * it, so every JSON submission is prepared on the event loop. A submission also stays here when
 * its worker already holds MAX_PENDING_PER_WORKER (worker-pool.ts), which keeps the event loop
 * from taking in bodies faster than they are prepared; a large target upload waits for its
 * worker. After close, everything is prepared here.
 */
export function workerPreparer(count: number, options: { minChars?: number } = {}): Preparer & { started(): number } {
  const pool = workerPool(count);
  const minChars = options.minChars ?? WORKER_MIN_CHARS;
  let closed = false;
  return {
    async prepare(body, universe, options) {
      if (body.kind !== 'csv' || body.text.length < minChars || closed) return prepareSubmission(body, universe, options);
      const sent = pool.run(universe, body.text, { kind: 'submission', options }, true);
      if (sent === undefined) return prepareSubmission(body, universe, options);
      const reply = await sent;
      if (!('prepared' in reply)) throw new Error('a submission worker answered with targets');
      return { ...reply.prepared, raw: bytes(reply.prepared.raw), ranks: bytes(reply.prepared.ranks) };
    },

    async parseTargets(body, universe, options) {
      if (body.text.length < minChars || closed) return parseTargetText(body, universe, options);
      const reply = await pool.run(universe, body.text, { kind: 'targets', body: body.kind, options }, false)!;
      if (!('targets' in reply)) throw new Error('a target worker answered with a submission');
      return reply.targets;
    },

    started: () => pool.started(),

    async close() {
      closed = true;
      await pool.close();
    },
  };
}
