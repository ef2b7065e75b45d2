import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { boundedCache, type Cache } from '../cache.js';
import type { LiveUniverse } from './aligned.js';
import type { IngestBody } from './id-value.js';
import { type PreparedSubmission, prepareSubmission } from './prepare.js';
import { type BodyProblem, InvalidBodyError } from './problems.js';
import { type ParsedNamedTarget, type TargetParseOptions, type TargetText, parseTargetText } from './target.js';

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

/** Target bodies shorter than this are parsed on the event loop: a thread hop would cost more. */
export const TARGET_WORKER_MIN_CHARS = 64 * 1024;

/** Prepares on the calling thread. */
export const inlinePreparer: Preparer = {
  prepare: async (body, universe, options) => prepareSubmission(body, universe, options),
  parseTargets: async (body, universe, options) => parseTargetText(body, universe, options),
  close: async () => {},
};

/** Bodies a worker may hold at once; beyond that the event loop prepares them itself. */
const MAX_PENDING_PER_WORKER = 64;
/** A body no worker answers within this long fails, and its worker is replaced. */
const PREPARE_TIMEOUT_MS = 30_000;

interface Pending {
  request: PrepareRequest;
  /** the universe's ids, sent along when the worker may not have them */
  ids: readonly string[];
  timer: NodeJS.Timeout;
  resolve(reply: Extract<PrepareReply, { prepared: unknown } | { targets: unknown }>): void;
  reject(error: unknown): void;
}

interface WorkerHandle {
  worker: Worker;
  /** digests of the universes this worker has been sent (and may still keep) */
  universes: Cache<string, true>;
  pending: Map<number, Pending>;
}

const here = fileURLToPath(import.meta.url);
const WORKER_FILE = path.join(path.dirname(here), `prepare-worker${path.extname(here)}`);

/** tsx's ESM loader API, resolved from this package (a worker resolves bare names from the cwd). */
function tsxLoaderApi(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = require(manifestPath) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifestPath), manifest.exports['./esm/api'].import.default)).href;
}

/** A worker on prepare-worker; from TypeScript sources (run by tsx) it registers tsx first. */
function startWorker(): Worker {
  if (!WORKER_FILE.endsWith('.ts')) return new Worker(WORKER_FILE);
  const [api, target] = [tsxLoaderApi(), pathToFileURL(WORKER_FILE).href].map((url) => JSON.stringify(url));
  return new Worker(`import(${api}).then(({ register }) => { register(); return import(${target}); });`, { eval: true });
}

const bytes = (view: Uint8Array) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/**
 * Prepares CSV submissions (and parses large target uploads) on `count` worker threads, round robin, so the event loop goes on
 * serving requests and talking to PostgreSQL while bodies are parsed, checked and ranked. The
 * body goes over as a string and the encoded vectors come back transferred, not copied.
 *
 * JSON bodies arrive already parsed, and copying them to a worker would cost more than
 * preparing them, so they are prepared here; so is a CSV body when its worker already holds
 * MAX_PENDING_PER_WORKER, which also keeps the event loop from taking in bodies faster than
 * they are prepared. Workers start with the first CSV body. One that fails, exits or does not
 * answer in PREPARE_TIMEOUT_MS fails what it holds and is replaced by the next request.
 */
export function workerPreparer(count: number): Preparer {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workerPreparer needs at least one worker, not ${count}`);
  const slots: (WorkerHandle | undefined)[] = new Array(count).fill(undefined);
  let next = 0;
  let nextId = 0;
  let closed = false;

  function settle(handle: WorkerHandle, pending: Pending): void {
    clearTimeout(pending.timer);
    handle.pending.delete(pending.request.id);
    // A worker holds the process open only while it has work.
    if (handle.pending.size === 0) handle.worker.unref();
  }

  function fail(slot: number, handle: WorkerHandle, error: unknown): void {
    if (slots[slot] === handle) slots[slot] = undefined;
    for (const pending of [...handle.pending.values()]) {
      settle(handle, pending);
      pending.reject(error);
    }
  }

  function handleAt(slot: number): WorkerHandle {
    const existing = slots[slot];
    if (existing) return existing;
    const handle: WorkerHandle = {
      worker: startWorker(),
      universes: boundedCache({
        max: 64,
        staleness:
          'a digest remembered after the worker let its universe go gets a missingUniverse reply and is sent again with its ids; one forgotten here only costs sending the ids again',
      }),
      pending: new Map(),
    };
    handle.worker.on('message', (reply: PrepareReply) => {
      const pending = handle.pending.get(reply.id);
      if (!pending) return;
      if ('missingUniverse' in reply) {
        // The worker let this universe go: send the request again with its ids.
        handle.universes.delete(pending.request.digest);
        post(handle, pending);
        return;
      }
      settle(handle, pending);
      if ('prepared' in reply || 'targets' in reply) pending.resolve(reply);
      else if ('invalid' in reply) pending.reject(new InvalidBodyError(reply.invalid.problems, reply.invalid.status));
      else pending.reject(new Error(`preparing a submission failed: ${reply.failed}`));
    });
    handle.worker.on('messageerror', (error) => {
      fail(slot, handle, error);
      void handle.worker.terminate();
    });
    handle.worker.on('error', (error) => fail(slot, handle, error));
    handle.worker.on('exit', (code) => fail(slot, handle, new Error(`a submission worker exited with code ${code}`)));
    handle.worker.unref();
    slots[slot] = handle;
    return handle;
  }

  /** Posts a request, with the universe's ids if this worker has not been sent them. */
  function post(handle: WorkerHandle, pending: Pending): void {
    const { request } = pending;
    const first = !handle.universes.has(request.digest);
    try {
      handle.worker.postMessage(first ? { ...request, ids: pending.ids } : request);
    } catch (error) {
      settle(handle, pending);
      pending.reject(error);
      return;
    }
    handle.universes.set(request.digest, true);
    if (handle.pending.size === 0) handle.worker.ref();
    handle.pending.set(request.id, pending);
    pending.timer.refresh();
  }

  /** Sends one request to the worker in `slot` and waits for its answer. */
  function send(slot: number, handle: WorkerHandle, universe: DigestedUniverse, text: string, task: PrepareTask) {
    const request: PrepareRequest = { id: nextId++, digest: universe.digest, text, task };
    return new Promise<Parameters<Pending['resolve']>[0]>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(slot, handle, new Error(`an ingest worker did not answer within ${PREPARE_TIMEOUT_MS} ms`));
        void handle.worker.terminate();
      }, PREPARE_TIMEOUT_MS);
      timer.unref();
      post(handle, { request, ids: universe.ids, timer, resolve, reject });
    });
  }

  /** The next worker, round robin. */
  function nextSlot(): [number, WorkerHandle] {
    const slot = next;
    next = (next + 1) % count;
    return [slot, handleAt(slot)];
  }

  return {
    async prepare(body, universe, options) {
      if (body.kind !== 'csv' || closed) return prepareSubmission(body, universe, options);
      const [slot, handle] = nextSlot();
      if (handle.pending.size >= MAX_PENDING_PER_WORKER) return prepareSubmission(body, universe, options);
      const reply = await send(slot, handle, universe, body.text, { kind: 'submission', options });
      if (!('prepared' in reply)) throw new Error('a submission worker answered with targets');
      return { ...reply.prepared, raw: bytes(reply.prepared.raw), ranks: bytes(reply.prepared.ranks) };
    },

    /**
     * Target uploads are rare but may be large (up to the body limit): a large one is parsed on a
     * worker whatever it holds, so the event loop goes on serving; a small one here.
     */
    async parseTargets(body, universe, options) {
      if (body.text.length < TARGET_WORKER_MIN_CHARS || closed) return parseTargetText(body, universe, options);
      const [slot, handle] = nextSlot();
      const reply = await send(slot, handle, universe, body.text, { kind: 'targets', body: body.kind, options });
      if (!('targets' in reply)) throw new Error('a target worker answered with a submission');
      return reply.targets;
    },

    async close() {
      closed = true;
      const running = slots.filter((handle): handle is WorkerHandle => handle !== undefined);
      slots.fill(undefined);
      await Promise.all(running.map((handle) => handle.worker.terminate()));
    },
  };
}
