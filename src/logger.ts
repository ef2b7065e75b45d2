import { DrizzleQueryError } from 'drizzle-orm';
import pino, { type Logger } from 'pino';

/** API keys travel in the Authorization header; it never reaches a log line. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
];

/** Quoted text in a message is usually input (a value, an id, a snippet of a body): it is left out. */
const QUOTED = /"[^"]*"|'[^']*'|`[^`]*`/g;

/**
 * What a log line says of an error: its class, its code (a SQLSTATE for the database) and its
 * message with anything quoted left out, never a stack, SQL, query parameters or a body.
 * drizzle's query error carries the SQL and its parameters in its message: its cause speaks instead.
 */
export function errorForLog(error: unknown): { type: string; code?: string; message: string } {
  let e = error;
  while (e instanceof DrizzleQueryError && e.cause) e = e.cause;
  if (!(e instanceof Error)) return { type: typeof e, message: 'a non-Error value was thrown' };
  const code = (e as { code?: unknown }).code;
  return {
    type: e.constructor.name || e.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    message: e.message.replace(QUOTED, '…').replace(/\s+/g, ' ').slice(0, 300),
  };
}

const serializers = {
  err: errorForLog,
  /** The path without its query string, which can carry caller input. */
  req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: req.url?.split('?')[0], remoteAddress: req.ip }),
};

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' }, serializers }, destination);
}
