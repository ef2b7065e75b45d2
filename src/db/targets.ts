import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { targets } from './schema.js';

/** One stored version of a target, without its values. */
export interface TargetVersion {
  name: string;
  version: number;
  count: number;
  uploadedAt: Date;
}

/** A target version with its values (float64 LE aligned to universe positions, NaN where an id has none). */
export interface StoredTarget extends TargetVersion {
  values: Buffer;
}

const VERSION_COLUMNS = { name: targets.name, version: targets.version, count: targets.count, uploadedAt: targets.uploadedAt };

/**
 * Stores each upload as the next version of its target in the era (1 for a new name). The
 * caller holds the era row lock, which orders uploads; the primary key backs it up.
 */
export async function storeTargetVersions(
  executor: Executor,
  era: number,
  uploads: readonly { name: string; values: Buffer; count: number }[],
  uploadedBy: string,
): Promise<TargetVersion[]> {
  const stored: TargetVersion[] = [];
  for (const upload of uploads) {
    const [row] = await executor
      .insert(targets)
      .values({
        eraNumber: era,
        name: upload.name,
        version: sql`coalesce((select max(${targets.version}) from ${targets} where ${targets.eraNumber} = ${era} and ${targets.name} = ${upload.name}), 0) + 1`,
        values: upload.values,
        count: upload.count,
        uploadedBy,
      })
      .returning(VERSION_COLUMNS);
    stored.push(row);
  }
  return stored;
}

/** The latest version of every target of the era, with its values, by name. */
export async function latestTargets(executor: Executor, era: number): Promise<StoredTarget[]> {
  return executor
    .selectDistinctOn([targets.name], { ...VERSION_COLUMNS, values: targets.values })
    .from(targets)
    .where(eq(targets.eraNumber, era))
    .orderBy(asc(targets.name), desc(targets.version));
}

/** The latest version of one target of the era, with its values, if it has any. */
export async function latestTarget(executor: Executor, era: number, name: string): Promise<StoredTarget | undefined> {
  const [row] = await executor
    .select({ ...VERSION_COLUMNS, values: targets.values })
    .from(targets)
    .where(and(eq(targets.eraNumber, era), eq(targets.name, name)))
    .orderBy(desc(targets.version))
    .limit(1);
  return row;
}

/** Every stored version of every target of the era (names and versions, no values), by name then version. */
export async function targetVersions(executor: Executor, era: number): Promise<TargetVersion[]> {
  return executor.select(VERSION_COLUMNS).from(targets).where(eq(targets.eraNumber, era)).orderBy(asc(targets.name), asc(targets.version));
}

/** One given version of a target of the era, with its values, if stored. */
export async function targetOfVersion(executor: Executor, era: number, name: string, version: number): Promise<StoredTarget | undefined> {
  const [row] = await executor
    .select({ ...VERSION_COLUMNS, values: targets.values })
    .from(targets)
    .where(and(eq(targets.eraNumber, era), eq(targets.name, name), eq(targets.version, version)));
  return row;
}
