import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { serviceUnavailable } from '../../errors.js';

export interface LoadSheddingOptions {
  maxBodies: number;
  maxBodyBytes: number;
  /** The largest body a route accepts: what a body of unknown length (chunked) is counted as. */
  bodyLimit: number;
  maxEventLoopDelayMs: number;
}

/** Seconds a shed client is asked to wait. */
const RETRY_AFTER_SECONDS = 5;
/** Liveness must answer however busy the process is, or an orchestrator restarts a healthy replica. */
const NEVER_SHED: ReadonlySet<string> = new Set(['/healthz']);

function shed(reply: FastifyReply, detail: string) {
  reply.header('retry-after', RETRY_AFTER_SECONDS);
  return serviceUnavailable(`${detail}; retry in ${RETRY_AFTER_SECONDS} s`);
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Sheds load with a 503 problem and Retry-After before any work is done (registered first):
 * @fastify/under-pressure for event-loop delay, and a bound on the request bodies being received
 * or processed and on their bytes (by Content-Length; a chunked body counts as the body limit),
 * so a burst of large uploads cannot grow memory without bound.
 */
export const loadSheddingPlugin = fp(async (app: FastifyInstance, opts: LoadSheddingOptions) => {
  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    pressureHandler: (request, reply, type) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? '')) return;
      throw shed(reply, `The service is overloaded (${type}); it sheds requests until it recovers`);
    },
  });

  let bodies = 0;
  let bytes = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (!hasBody(request)) return;
    const size = request.headers['transfer-encoding'] !== undefined ? opts.bodyLimit : Math.min(Number(request.headers['content-length']), opts.bodyLimit);
    if (bodies + 1 > opts.maxBodies || bytes + size > opts.maxBodyBytes) {
      throw shed(reply, `The service is receiving as many request bodies as it holds at once (${bodies}, ${Math.round(bytes / 1048576)} MB)`);
    }
    bodies++;
    bytes += size;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      bodies--;
      bytes -= size;
    };
    // Whichever comes first: the response finished, or the connection closed before it could.
    reply.raw.once('finish', release);
    reply.raw.once('close', release);
  });
});
