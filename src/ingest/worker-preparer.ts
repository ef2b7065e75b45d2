import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LiveUniverse } from './aligned.js';
import type { IngestBody } from './id-value.js';
import { type PreparedSubmission, prepareSubmission } from './prepare.js';
import { type BodyProblem, InvalidBodyError } from './problems.js';

export interface PrepareOptions {
  era: number;
  minCoverage: number;
}

/** A universe as ingest holds it; its digest names it across threads. */
export type DigestedUniverse = LiveUniverse & { readonly digest: string };

/** Turns a submission body into what is stored (prepareSubmission), here or elsewhere. */
export interface Preparer {
  prepare(body: IngestBody, universe: DigestedUniverse, options: PrepareOptions): Promise<PreparedSubmission>;
  close(): Promise<void>;
}

/** What the main thread sends a worker; `ids` only the first time the worker needs that universe. */
export interface PrepareRequest {
  id: number;
  digest: string;
  ids?: readonly string[];
  text: string;
  options: PrepareOptions;
}

type TransferredSubmission = Omit<PreparedSubmission, 'raw' | 'ranks'> & { raw: Uint8Array; ranks: Uint8Array };

export type PrepareReply =
  | { id: number; prepared: TransferredSubmission }
  | { id: number; missingUniverse: true }
  | { id: number; invalid: { problems: BodyProblem[]; status: number } }
  | { id: number; failed: string };

/** Prepares on the calling thread. */
export const inlinePreparer: Preparer = {
  prepare: async (body, universe, options) => prepareSubmission(body, universe, options),
  close: async () => {},
};

interface Pending {
  request: PrepareRequest;
  /** the universe's ids, sent along when the worker does not have them */
  ids: readonly string[];
  resolve(prepared: PreparedSubmission): void;
  reject(error: unknown): void;
}

interface WorkerHandle {
  worker: Worker;
  /** digests of the universes this worker has been sent */
  universes: Set<string>;
  pending: Map<number, Pending>;
}

const here = fileURLToPath(import.meta.url);
const WORKER_FILE = path.join(path.dirname(here), `prepare-worker${path.extname(here)}`);

/** A worker on prepare-worker; from TypeScript sources (run by tsx) it registers tsx first. */
function startWorker(): Worker {
  if (!WORKER_FILE.endsWith('.ts')) return new Worker(WORKER_FILE);
  const url = JSON.stringify(new URL(`file://${WORKER_FILE}`).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${url}); });`, { eval: true });
}

const bytes = (view: Uint8Array) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/**
 * Prepares CSV submissions on `count` worker threads, round robin, so the event loop goes on
 * serving requests and talking to PostgreSQL while bodies are parsed, checked and ranked. The
 * body goes over as a string and the encoded vectors come back transferred, not copied. JSON
 * bodies arrive already parsed, and copying them to a worker would cost more than preparing
 * them here, so they are prepared inline. Workers start with the first CSV body; one that dies
 * fails what it had in hand and is replaced by the next request.
 */
export function workerPreparer(count: number): Preparer {
  const slots: (WorkerHandle | undefined)[] = new Array(count).fill(undefined);
  let next = 0;
  let nextId = 0;

  function handleAt(slot: number): WorkerHandle {
    const existing = slots[slot];
    if (existing) return existing;
    const handle: WorkerHandle = { worker: startWorker(), universes: new Set(), pending: new Map() };
    const fail = (error: unknown) => {
      if (slots[slot] === handle) slots[slot] = undefined;
      for (const pending of handle.pending.values()) pending.reject(error);
      handle.pending.clear();
    };
    handle.worker.on('message', (reply: PrepareReply) => {
      const pending = handle.pending.get(reply.id);
      if (!pending) return;
      if ('missingUniverse' in reply) {
        // The worker let this universe go: send the request again with its ids.
        handle.universes.delete(pending.request.digest);
        send(handle, pending);
        return;
      }
      handle.pending.delete(reply.id);
      if ('prepared' in reply) pending.resolve({ ...reply.prepared, raw: bytes(reply.prepared.raw), ranks: bytes(reply.prepared.ranks) });
      else if ('invalid' in reply) pending.reject(new InvalidBodyError(reply.invalid.problems, reply.invalid.status));
      else pending.reject(new Error(`preparing a submission failed: ${reply.failed}`));
    });
    handle.worker.on('error', fail);
    handle.worker.on('exit', (code) => fail(new Error(`a submission worker exited with code ${code}`)));
    // Idle workers must not keep the process alive.
    handle.worker.unref();
    slots[slot] = handle;
    return handle;
  }

  /** Posts a request, with the universe's ids if this worker has not been sent them. */
  function send(handle: WorkerHandle, pending: Pending): void {
    const { request } = pending;
    const first = !handle.universes.has(request.digest);
    handle.universes.add(request.digest);
    handle.pending.set(request.id, pending);
    handle.worker.postMessage(first ? { ...request, ids: pending.ids } : request);
  }

  return {
    async prepare(body, universe, options) {
      if (body.kind !== 'csv') return prepareSubmission(body, universe, options);
      const handle = handleAt(next);
      next = (next + 1) % count;
      const request: PrepareRequest = { id: nextId++, digest: universe.digest, text: body.text, options };
      return new Promise<PreparedSubmission>((resolve, reject) => send(handle, { request, ids: universe.ids, resolve, reject }));
    },

    async close() {
      const running = slots.filter((handle): handle is WorkerHandle => handle !== undefined);
      slots.fill(undefined);
      await Promise.all(running.map((handle) => handle.worker.terminate()));
    },
  };
}
