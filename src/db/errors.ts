/** Postgres SQLSTATEs the services turn into client errors. */
export const UNIQUE_VIOLATION = '23505';

/** A lock asked for with NOWAIT was held by another transaction. */
export const LOCK_NOT_AVAILABLE = '55P03';

export function isLockNotAvailable(error: unknown): boolean {
  const e = (error as { cause?: unknown })?.cause ?? error;
  return (e as { code?: string })?.code === LOCK_NOT_AVAILABLE;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = (error as { cause?: unknown })?.cause ?? error;
  const pgError = e as { code?: string; constraint?: string };
  return pgError?.code === UNIQUE_VIOLATION && (!constraint || pgError.constraint === constraint);
}
