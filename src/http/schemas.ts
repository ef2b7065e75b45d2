import { z } from 'zod';

/** RFC 9457 body every error carries (documented on each route). */
export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z
      .array(
        z.object({
          path: z.string().optional(),
          code: z.string().optional(),
          message: z.string(),
          ids: z.array(z.string()).optional(),
          lines: z.array(z.number()).optional(),
          indexes: z.array(z.number()).optional(),
          column: z.string().optional().describe('the column at fault, in a multi-target upload'),
          count: z.number().optional(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Problem' });

export const problemResponses = {
  400: problem,
  401: problem,
  403: problem,
  404: problem,
  409: problem,
  429: problem,
  503: problem,
} as const;

/** Exact decimals travel as strings. */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/);
