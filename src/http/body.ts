import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { ZodType } from 'zod';
import { badRequest } from '../errors.js';
import type { IngestBody } from '../ingest/id-value.js';
import type { TargetText } from '../ingest/target.js';

/**
 * For routes whose body the ingest layer validates (CSV or JSON, with messages naming ids
 * and lines): the body schema only documents the route; params and query still go through zod.
 */
export const ingestValidator = <T>(route: FastifyRouteSchemaDef<T>) =>
  route.httpPart === 'body'
    ? (data: unknown) => ({ value: data })
    : validatorCompiler(route as unknown as FastifyRouteSchemaDef<ZodType>);

/** The body as the ingest layer takes it; the content-type parsers already refused other types (415). */
export function ingestBody(request: FastifyRequest): IngestBody {
  if (typeof request.body === 'string') return { kind: 'csv', text: request.body };
  if (request.body === undefined || request.body === null) throw badRequest('The request body is empty');
  return { kind: 'json', value: request.body };
}

/** True when the client asked for CSV rather than JSON. */
export function wantsCsv(request: FastifyRequest): boolean {
  return /\btext\/csv\b/.test(request.headers.accept ?? '');
}

/** CSV replies bypass the route's JSON response schema. */
export function sendCsv(reply: FastifyReply, text: string) {
  return reply.type('text/csv; charset=utf-8').send(text);
}

/** A JSON body kept as its text, for the ingest layer to check and parse (on a worker when large). */
export class JsonText {
  constructor(readonly text: string) {}
}

/** In this plugin scope, JSON bodies are not parsed: the handler gets a JsonText. */
export function jsonAsText(app: FastifyInstance) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, new JsonText(body as string)));
}

/** A target upload as text, CSV or JSON; the content-type parsers already refused other types (415). */
export function targetBody(request: FastifyRequest): TargetText {
  if (typeof request.body === 'string') return { kind: 'csv', text: request.body };
  if (request.body instanceof JsonText) return { kind: 'json-text', text: request.body.text };
  throw badRequest('The request body is empty');
}
