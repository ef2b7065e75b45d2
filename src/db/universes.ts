import { asc, eq, sql } from 'drizzle-orm';
import type { UniverseRow } from '../domain/universe.js';
import type { Executor } from './client.js';
import { universeRows } from './schema.js';
import { withNameRecords } from '../domain/records.js';

/**
 * An era's universe (universe_rows): its ids in position order, to which every packed vector
 * of the era is aligned, and their public and private attributes. The era row carries the
 * universe's size and digest (src/db/eras.ts, setUniverse).
 */

/** Replaces the era's rows with `rows`, positions in the order given. */
export async function replaceUniverseRows(executor: Executor, era: number, rows: readonly UniverseRow[]): Promise<void> {
  await executor.delete(universeRows).where(eq(universeRows.eraNumber, era));
  await executor.execute(sql`
          insert into universe_rows (era_number, position, id, sector, industry, country, tags, attributes)
          select ${era}, (e.ord - 1)::int, r.id, r.sector, r.industry, r.country, coalesce(r.tags, '{}'), coalesce(r.attributes, '{}')
          from jsonb_array_elements(${JSON.stringify(rows)}::jsonb) with ordinality as e(doc, ord),
            jsonb_to_record(e.doc) as r(id text, sector text, industry text, country text, tags text[], attributes jsonb)`);
}

/** The ids in position order. */
export async function universeIds(executor: Executor, era: number): Promise<string[]> {
  const rows = await executor
    .select({ id: universeRows.id })
    .from(universeRows)
    .where(eq(universeRows.eraNumber, era))
    .orderBy(asc(universeRows.position));
  return rows.map((r) => r.id);
}

/** Full rows with private attributes, in position order. */
export async function universeRowsOf(executor: Executor, era: number): Promise<UniverseRow[]> {
  const rows = await executor
    .select({
      id: universeRows.id,
      sector: universeRows.sector,
      industry: universeRows.industry,
      country: universeRows.country,
      tags: universeRows.tags,
      attributes: universeRows.attributes,
    })
    .from(universeRows)
    .where(eq(universeRows.eraNumber, era))
    .orderBy(asc(universeRows.position));
  // Attribute names are data: `constructor` or `__proto__` must stay ordinary keys.
  return rows.map((row) => ({ ...row, attributes: withNameRecords(row.attributes) }));
}
