/** Postgres SQLSTATEs the services turn into client errors. */
export const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = (error as { cause?: unknown })?.cause ?? error;
  const pgError = e as { code?: string; constraint?: string };
  return pgError?.code === UNIQUE_VIOLATION && (!constraint || pgError.constraint === constraint);
}
