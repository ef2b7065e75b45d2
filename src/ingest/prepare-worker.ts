import { parentPort } from 'node:worker_threads';
import { type LiveUniverse, indexLiveIds } from './aligned.js';
import { prepareSubmission } from './prepare.js';
import { InvalidBodyError } from './problems.js';
import type { PrepareReply, PrepareRequest } from './worker-preparer.js';

// A worker thread of WorkerPreparer: prepares CSV submissions against the universes the main
// thread has sent it (each once, with the first request that needs it).

const UNIVERSES_KEPT = 8;
const universes = new Map<string, LiveUniverse>();

function universeFor(request: PrepareRequest): LiveUniverse {
  if (request.ids !== undefined) {
    if (universes.size >= UNIVERSES_KEPT) universes.delete(universes.keys().next().value as string);
    universes.set(request.digest, indexLiveIds(request.ids));
  }
  const universe = universes.get(request.digest);
  if (universe === undefined) throw new Error(`universe ${request.digest} was never sent to this worker`);
  return universe;
}

/** The bytes of a Buffer that owns its whole ArrayBuffer, to transfer instead of copy. */
function transferable(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const port = parentPort;
if (port === null) throw new Error('prepare-worker runs as a worker thread');

port.on('message', (request: PrepareRequest) => {
  let reply: PrepareReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const { raw, ranks, ...rest } = prepareSubmission({ kind: 'csv', text: request.text }, universeFor(request), request.options);
    const [rawBytes, rankBytes] = [transferable(raw), transferable(ranks)];
    reply = { id: request.id, prepared: { ...rest, raw: rawBytes, ranks: rankBytes } };
    // Buffers of the encoders own their ArrayBuffers; a shared one (Node's pool) is copied instead.
    transfer = [rawBytes, rankBytes].filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).map((b) => b.buffer as ArrayBuffer);
  } catch (error) {
    reply =
      error instanceof InvalidBodyError
        ? { id: request.id, invalid: { problems: error.problems, status: error.status } }
        : { id: request.id, failed: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
});
