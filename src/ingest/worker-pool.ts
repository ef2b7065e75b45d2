import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { boundedCache, type Cache } from '../cache.js';
import type { DigestedUniverse, PrepareReply, PrepareRequest, PrepareTask } from './worker-preparer.js';
import { InvalidBodyError } from './problems.js';

/** Bodies a worker may hold at once; beyond that the caller prepares on the event loop. */
const MAX_PENDING_PER_WORKER = 64;
/** A body no worker answers within this long fails, and its worker is replaced. */
const PREPARE_TIMEOUT_MS = 30_000;

/** What a worker answers once it has done the task. */
export type DoneReply = Extract<PrepareReply, { prepared: unknown } | { targets: unknown }>;

interface Pending {
  request: PrepareRequest;
  /** the universe's ids, sent along when the worker may not have them */
  ids: readonly string[];
  timer: NodeJS.Timeout;
  resolve(reply: DoneReply): void;
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

function settle(handle: WorkerHandle, pending: Pending): void {
  clearTimeout(pending.timer);
  handle.pending.delete(pending.request.id);
  // A worker holds the process open only while it has work.
  if (handle.pending.size === 0) handle.worker.unref();
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

/** Settles a pending request with the worker's reply; a universe the worker let go is sent again. */
function onReply(handle: WorkerHandle, reply: PrepareReply): void {
  const pending = handle.pending.get(reply.id);
  if (!pending) return;
  if ('missingUniverse' in reply) {
    handle.universes.delete(pending.request.digest);
    post(handle, pending);
    return;
  }
  settle(handle, pending);
  if ('prepared' in reply || 'targets' in reply) pending.resolve(reply);
  else if ('invalid' in reply) pending.reject(new InvalidBodyError(reply.invalid.problems, reply.invalid.status));
  else pending.reject(new Error(`preparing a submission failed: ${reply.failed}`));
}

/**
 * `count` ingest worker threads, round robin, each started with the first task sent to it. The
 * text goes over as a string and the worker remembers the universes it was sent (by digest).
 * One that fails, exits or does not answer in PREPARE_TIMEOUT_MS fails what it holds and is
 * replaced by the next task.
 */
export function workerPool(count: number) {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workerPreparer needs at least one worker, not ${count}`);
  const slots: (WorkerHandle | undefined)[] = Array.from({ length: count }, () => undefined);
  let next = 0;
  let nextId = 0;

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
    handle.worker.on('message', (reply: PrepareReply) => onReply(handle, reply));
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

  return {
    /**
     * Sends the task to the next worker, round robin, and waits for its answer; undefined (sent
     * nowhere) when `skipIfBusy` and that worker already holds MAX_PENDING_PER_WORKER.
     */
    run(universe: DigestedUniverse, text: string, task: PrepareTask, skipIfBusy: boolean): Promise<DoneReply> | undefined {
      const slot = next;
      next = (next + 1) % count;
      const handle = handleAt(slot);
      if (skipIfBusy && handle.pending.size >= MAX_PENDING_PER_WORKER) return undefined;
      const request: PrepareRequest = { id: nextId++, digest: universe.digest, text, task };
      return new Promise<DoneReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          fail(slot, handle, new Error(`an ingest worker did not answer within ${PREPARE_TIMEOUT_MS} ms`));
          void handle.worker.terminate();
        }, PREPARE_TIMEOUT_MS);
        timer.unref();
        post(handle, { request, ids: universe.ids, timer, resolve, reject });
      });
    },

    /** How many workers are running now (each starts with the first task sent to it). */
    started(): number {
      return slots.filter((handle) => handle !== undefined).length;
    },

    async close(): Promise<void> {
      const running = slots.filter((handle): handle is WorkerHandle => handle !== undefined);
      slots.fill(undefined);
      await Promise.all(running.map((handle) => handle.worker.terminate()));
    },
  };
}
