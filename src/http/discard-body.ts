import type { Readable } from 'node:stream';

/** How much of a refused body is read and thrown away before the connection is closed. */
export const DISCARD_LIMITS = {
  bytes: 128 * 1024 * 1024,
  totalMs: 30_000,
  idleMs: 5_000,
};

/**
 * Reads the rest of a refused request's body and throws it away, as nginx's lingering close
 * does. A client that sends its whole body before it reads (Python's urllib and requests, any
 * client without Expect: 100-continue) meets a reset instead of the refusal if the server
 * closes with body bytes still unread. Bounded in bytes, total time and idle time; nothing is
 * kept. Resolves true when the body ended, false when a bound cut it short.
 */
export function discardBody(request: Readable & { complete?: boolean }, limits = DISCARD_LIMITS): Promise<boolean> {
  if (request.complete === true || request.readableEnded || request.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (ended: boolean) => {
      clearTimeout(total);
      clearTimeout(idle);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer | string) => {
      discarded += chunk.length;
      if (discarded > limits.bytes) finish(false);
      else idle.refresh();
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(request.complete === true || request.readableEnded);
    const total = setTimeout(() => finish(false), limits.totalMs);
    const idle = setTimeout(() => finish(false), limits.idleMs);
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('close', onClose);
    request.resume();
  });
}
