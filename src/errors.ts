import { z } from 'zod';

/** One problem in a request: where it is and what to fix. */
export const problemItem = z.object({
  path: z.string().optional(),
  code: z.string().optional(),
  message: z.string(),
  ids: z.array(z.string()).optional(),
  lines: z.array(z.number()).optional(),
  indexes: z.array(z.number()).optional(),
  column: z.string().optional().describe('the column at fault, in a multi-target upload'),
  count: z.number().optional(),
});
export type Problem = z.infer<typeof problemItem>;

/** The RFC 9457 body every error carries (src/http/plugins/errors.ts renders it; each route documents it). */
export const problemBody = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  requestId: z.string(),
  errors: z.array(problemItem).optional(),
  available: z.string().optional().describe('on insufficient funds: what the wallet holds available, an exact decimal'),
});
export type ProblemBody = z.infer<typeof problemBody>;

/** Failures the service means to report; the error handler maps each to an RFC 9457 body. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly errors?: Problem[],
    /** extension members of the problem body */
    readonly extensions?: Pick<ProblemBody, 'available'>,
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string, errors?: Problem[]) =>
  new AppError(400, 'invalid-request', 'Bad Request', detail, errors);
export const unauthorized = (detail: string) => new AppError(401, 'unauthorized', 'Unauthorized', detail);
export const forbidden = (detail: string) => new AppError(403, 'forbidden', 'Forbidden', detail);
export const notFound = (detail: string) => new AppError(404, 'not-found', 'Not Found', detail);
export const conflict = (detail: string) => new AppError(409, 'conflict', 'Conflict', detail);
export const serviceUnavailable = (detail: string) =>
  new AppError(503, 'service-unavailable', 'Service Unavailable', detail);
export const tooManyRequests = (detail: string) => new AppError(429, 'rate-limited', 'Too Many Requests', detail);

/**
 * 409 insufficient funds, naming what the wallet holds available (exact decimal strings) and how to
 * fix it; `instead` is what the caller may do besides asking for a credit ("lower the stake").
 */
export const insufficientFunds = (available: string, needed: string, instead: string) =>
  new AppError(
    409,
    'insufficient-funds',
    'Insufficient funds',
    `wallet holds ${available} available; ask an operator to credit it or ${instead}`,
    [{ path: 'body.amount', code: 'insufficient_funds', message: `${needed} is needed but the wallet holds ${available} available` }],
    { available },
  );
