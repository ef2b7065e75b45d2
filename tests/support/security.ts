import { Writable } from 'node:stream';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createLogger } from '../../src/logger.js';

/**
 * Row count of every table in the public schema: a change anywhere shows up as a difference.
 * Except the rate limit's counters, which every write (refused or not) takes by design.
 */
export async function tableCounts(pool: pg.Pool): Promise<Record<string, number>> {
  // Partitioned tables are counted at their parent (which counts every partition), not per partition.
  const { rows } = await pool.query<{ table_name: string }>(
    `select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition and c.relname <> 'rate_limit_counters'
     order by c.relname`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of rows) {
    const result = await pool.query<{ n: number }>(`select count(*)::int as n from "${table_name}"`);
    counts[table_name] = result.rows[0].n;
  }
  return counts;
}

/** What an error body must never carry: stack frames, SQL, Postgres phrasing, source paths. */
const LEAKS: { name: string; pattern: RegExp }[] = [
  { name: 'stack frame', pattern: /\bat [\w$.<>]+ \(|\bat (async )?[\w$./<>-]+:\d+:\d+|\n\s+at / },
  { name: 'SQL select', pattern: /\bselect\b[\s\S]{0,200}\bfrom\b/i },
  { name: 'SQL insert', pattern: /\binsert\s+into\b/i },
  { name: 'SQL update', pattern: /\bupdate\s+"?\w+"?\s+set\b/i },
  { name: 'SQL delete', pattern: /\bdelete\s+from\b/i },
  { name: 'SQL fragment', pattern: /\b(from|join)\s+"?(accounts|api_keys|eras|universe_rows|models|stake_entries|stake_releases|stake_release_eras|submissions|policies|meta_model_runs|run_inputs|targets|scores|audit_log)\b/i },
  {
    name: 'Postgres error',
    pattern: /violates (unique|foreign key|check|not-null|exclusion) constraint|duplicate key value|syntax error at or near|invalid input syntax for|(relation|column) \\?"[^"\\]*\\?" (of relation|does not exist)|SQLSTATE|\bpg_\w+/i,
  },
  { name: 'source path', pattern: /\/(src|node_modules|work|home|tmp)\/|\.(ts|js|mjs|cjs):\d+|file:\/\//i },
  { name: 'error class', pattern: /\b(TypeError|RangeError|ReferenceError|DatabaseError|DrizzleQueryError)\b/ },
];

/**
 * The leaks found in a response body, after removing what the client itself sent (an id such
 * as `'; drop table models; --` may fairly be quoted back in a message naming it).
 */
export function leaksIn(body: string, echoed: readonly string[] = []): string[] {
  let text = body;
  const forms = echoed.flatMap((s) => [s, JSON.stringify(s).slice(1, -1), JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1)]);
  // Longest first, so a string is removed whole before any part of it; messages cut long input short with "…".
  for (const form of [...new Set(forms)].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)) {
    text = text.split(form).join('');
    for (let k = form.length - 1; k >= 8; k--) text = text.split(`${form.slice(0, k)}…`).join('');
  }
  return LEAKS.filter(({ pattern }) => pattern.test(text)).map(({ name }) => name);
}

/** A trace-level logger whose lines the test can read back (what a log shipper would receive). */
export function capturedLogger(): { logger: Logger; text: () => string } {
  let captured = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      captured += String(chunk);
      done();
    },
  });
  return { logger: createLogger('trace', sink), text: () => captured };
}
