import { parentPort } from 'node:worker_threads';
import { boundedCache } from '../cache.js';
import { type LiveUniverse, indexLiveIds } from './aligned.js';
import { prepareSubmission } from './prepare.js';
import { InvalidBodyError } from './problems.js';
import { parseTargetText } from './targets.js';
import type { PrepareReply, PrepareRequest } from './worker-preparer.js';

// A worker thread of workerPreparer: prepares CSV submissions and parses target uploads against the universes the main
// thread has sent it (each once, with the first request that needs it; it keeps the last few
// and asks again for one it has let go).

const universes = boundedCache<string, LiveUniverse>({
  max: 8,
  staleness: 'a universe is named by the digest of its ids, so a kept one never differs from what the sender means; one let go is asked for again',
});

/** The request's universe, or undefined when this worker no longer has it (the sender resends it). */
function universeFor(request: PrepareRequest): LiveUniverse | undefined {
  // Least recently used goes first: the open era's universe stays.
  let universe = universes.get(request.digest);
  if (universe === undefined && request.ids !== undefined) {
    universe = indexLiveIds(request.ids);
    universes.set(request.digest, universe);
  }
  return universe;
}

/** The bytes of a Buffer that owns its whole ArrayBuffer, to transfer instead of copy. */
function transferable(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const port = parentPort;
if (port === null) throw new Error('prepare-worker runs as a worker thread');

port.on('message', (request: PrepareRequest) => {
  const universe = universeFor(request);
  if (universe === undefined) {
    port.postMessage({ id: request.id, missingUniverse: true } satisfies PrepareReply);
    return;
  }
  let reply: PrepareReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const { task } = request;
    if (task.kind === 'targets') {
      const targets = parseTargetText({ kind: task.body, text: request.text }, universe, task.options);
      reply = { id: request.id, targets };
      transfer = targets.map((target) => target.aligned.buffer as ArrayBuffer);
    } else {
      const { raw, ranks, ...rest } = prepareSubmission({ kind: 'csv', text: request.text }, universe, task.options);
      const [rawBytes, rankBytes] = [transferable(raw), transferable(ranks)];
      reply = { id: request.id, prepared: { ...rest, raw: rawBytes, ranks: rankBytes } };
      // Buffers of the encoders own their ArrayBuffers; a shared one (Node's pool) is copied instead.
      transfer = [rawBytes, rankBytes].filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).map((b) => b.buffer as ArrayBuffer);
    }
  } catch (error) {
    reply =
      error instanceof InvalidBodyError
        ? { id: request.id, invalid: { problems: error.problems, status: error.status } }
        : { id: request.id, failed: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
});
