import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, type Problem, type ProblemBody } from '../../errors.js';
import { InvalidBodyError } from '../../ingest/problems.js';
import { discardBody } from '../discard-body.js';


const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Connection-level failures mean the database is away, not that the request was wrong. */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '53300']);

function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; syscall?: string; message?: string; cause?: unknown };
  if (!e || typeof e !== 'object') return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  // A Unix socket (the embedded cluster's) is a file that is gone while the server is down.
  if (e.code === 'ENOENT' && e.syscall === 'connect') return true;
  if (typeof e.message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(e.message)) return true;
  return e.cause ? isDatabaseUnavailable(e.cause) : false;
}

function send(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  slug: string,
  detail: string,
  errors?: Problem[],
  title?: string,
  extensions?: Pick<ProblemBody, 'available'>,
) {
  const body: ProblemBody = {
    type: `/problems/${slug}`,
    title: title ?? TITLES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0],
    requestId: String(request.id),
    ...(errors?.length ? { errors } : {}),
    ...extensions,
  };
  return reply.status(status).type('application/problem+json').serializer(JSON.stringify).send(body);
}

/** The media types request bodies may have (the service's content-type parsers). */
const ACCEPTED_MEDIA_TYPES = ['application/json', 'text/csv'] as const;

function unsupportedMediaType(request: FastifyRequest): string {
  const given = request.headers['content-type'];
  const what = given ? `Content-Type ${JSON.stringify(given.split(';')[0].trim())} is not accepted` : 'The request has a body but no Content-Type';
  const hint = given?.startsWith('application/x-www-form-urlencoded') || !given ? " (curl sends bodies given with -d as a form unless told otherwise: add -H 'content-type: text/csv' or -H 'content-type: application/json')" : '';
  return `${what}; send Content-Type: ${ACCEPTED_MEDIA_TYPES.join(' or ')}${hint}`;
}

/** Refusals sent before the body was read: the rest of the body is read and thrown away first. */
function problemFromFastify(error: FastifyError, request: FastifyRequest): { status: number; slug: string; detail: string; errors?: Problem[] } | null {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = error.validation.map((v: { instancePath: string; message?: string }) => {
      const where = v.instancePath ? `${error.validationContext}${v.instancePath.replaceAll('/', '.')}` : String(error.validationContext);
      return { path: where, message: v.message ?? 'is invalid' };
    });
    return { status: 400, slug: 'validation', detail: `${errors.length} problem(s) in the request ${error.validationContext}`, errors };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, slug: 'payload-too-large', detail: `The request body is larger than this route accepts (${limitText(request)})` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, slug: 'unsupported-media-type', detail: unsupportedMediaType(request) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, slug: 'empty-body', detail: 'The request body is empty' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, slug: 'invalid-request', detail: 'Content-Length does not match the body' };
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, slug: 'malformed-json', detail: `The body is not valid JSON: ${error.message}` };
  }
  if (error.statusCode === 429) return { status: 429, slug: 'rate-limited', detail: error.message };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, slug: 'invalid-request', detail: error.message };
  }
  return null;
}

function limitText(request: FastifyRequest): string {
  const limit = request.routeOptions.bodyLimit;
  return limit ? `at most ${limit.toLocaleString('en-US')} bytes` : 'see BODY_LIMIT_BYTES';
}

export interface ErrorsOptions {
  /**
   * Has the last say before a refusal is sent: an error to send instead, or undefined. If it
   * fails, the original error is sent. The app passes refuseRevokedKeys (plugins/auth.ts), which
   * reads the database through the accounts service; this plugin itself holds no query.
   */
  overrule?: (request: FastifyRequest, error: FastifyError) => Promise<AppError | undefined>;
}

/** Every error leaves as RFC 9457 problem+json; 5xx bodies never carry internals. */
export const errorsPlugin = fp(async (app: FastifyInstance, options: ErrorsOptions) => {
  app.setErrorHandler(async (original: FastifyError, request, reply) => {
    const error = (await options.overrule?.(request, original).catch(() => undefined)) ?? original;
    // A refusal sent before the body was read (auth, role, rate limit, size, media type): keep the
    // connection until the client has sent its body, so that it reads the refusal instead of a reset.
    if (!request.raw.complete && !request.raw.readableEnded) {
      const ended = await discardBody(request.raw);
      if (!ended || original.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reply.header('connection', 'close');
    }
    if (error instanceof AppError) return send(reply, request, error.status, error.slug, error.message, error.errors, error.title, error.extensions);
    if (error instanceof InvalidBodyError) {
      const detail = error.problems.map((p) => p.message).slice(0, 3).join('; ');
      return send(reply, request, error.status, 'invalid-body', detail, error.problems);
    }
    const known = problemFromFastify(error, request);
    if (known) return send(reply, request, known.status, known.slug, known.detail, known.errors);
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      return send(reply, request, 503, 'service-unavailable', 'The database is not reachable; retry shortly');
    }
    if (isResponseSerializationError(error)) {
      const issues = error.cause.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code }));
      request.log.error({ err: error, issues }, 'response did not match its schema');
    }
    else request.log.error({ err: error }, 'unhandled error');
    return send(reply, request, 500, 'internal', 'An unexpected error occurred; quote the requestId when reporting it');
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 404, 'not-found', `No route ${request.method} ${request.url.split('?')[0]}`),
  );
});
