import { eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { eras } from './schema.js';

/**
 * Marks the era resolved now, returning its row; the caller holds its row lock (lockEra in
 * src/db/eras.ts). Kept apart from the eras module until the two are reconciled.
 */
export async function markEraResolved(executor: Executor, number: number) {
  const [resolved] = await executor.update(eras).set({ resolvedAt: sql`now()` }).where(eq(eras.number, number)).returning();
  return resolved;
}
