import { eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { eras } from './schema.js';

// The era row as target uploads, late scoring and resolution take it. Kept apart from the eras
// module (which owns creating, listing and closing eras) until the two are reconciled.

/**
 * Locks the era row FOR NO KEY UPDATE (late submissions and stake releases still reference it
 * meanwhile) and returns it; undefined when there is no such era. Serializes target uploads with
 * each other and with resolution.
 */
export async function lockEraRow(executor: Executor, number: number) {
  const [era] = await executor.select().from(eras).where(eq(eras.number, number)).for('no key update');
  return era as typeof era | undefined;
}

/** Marks the era resolved now, returning its row; the caller holds its row lock. */
export async function markEraResolved(executor: Executor, number: number) {
  const [resolved] = await executor.update(eras).set({ resolvedAt: sql`now()` }).where(eq(eras.number, number)).returning();
  return resolved;
}
