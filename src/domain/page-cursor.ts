import { z } from 'zod';

/**
 * Page cursors: the position after a page's last row, as opaque text (base64url of JSON) that
 * a client hands back unchanged in `?cursor=`. A cursor that does not decode to the expected
 * position is undefined, which a route answers with 400.
 */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<T>(text: string, shape: z.ZodType<T>): T | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The largest era number (PostgreSQL integer). */
export const INT4_MAX = 2_147_483_647;

/** A page of eras (a model's scores, the public summary, newest first) ends after this era. */
export const eraCursor = z.strictObject({ era: z.number().int().min(0).max(INT4_MAX) });
/** A page of an era's scores ends after this row (on-time first, then by model name). */
export const modelCursor = z.strictObject({ late: z.boolean(), model: z.string().min(1).max(40) });

/** Eras per page of a model's scores and of the public summary: DESIGN 9.4. */
export const ERA_PAGE = { default: 20, max: 100 } as const;
/**
 * Rows per page of an era's scores, and the most score rows a page of a model's scores holds
 * (whole eras, at least one): a row is at most ~400 bytes of JSON (a 40-character model name,
 * a 64-character target), so a page stays under 256 KB.
 */
export const MODEL_PAGE = { default: 500, max: 500 } as const;
export const MODEL_SCORES_MAX_ROWS = 400;
