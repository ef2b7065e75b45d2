import { sql } from 'drizzle-orm';
import type { Executor } from './client.js';

/** One trivial round trip: resolves when the database answers, rejects when it does not. */
export async function ping(executor: Executor): Promise<void> {
  await executor.execute(sql`select 1`);
}
