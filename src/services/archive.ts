import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { type Database, inClientTransaction } from '../db/client.js';
import { copyTableOut, detachEra, detachedRows, dropDetached, erasBefore, lockEraForArchive } from '../db/archive.js';
import { PARTITIONED, type PartitionedTable, partitionName } from '../db/partitions.js';
import { conflict } from '../errors.js';

/** One file of an archive: a detached partition in PostgreSQL's binary COPY format. */
export interface ArchivedTable {
  era: number;
  table: string;
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** How long a detach waits for its parent table's lock before the command fails (safe to run again). */
const LOCK_TIMEOUT_MS = 10_000;
const MANIFEST = 'manifest.json';

/**
 * `npm run cli -- archive --before-era N --out DIR` (docs/operations.md): for each resolved era
 * before N not archived yet, its partitions of submissions and run_inputs are detached (one
 * transaction), written to DIR as binary COPY files with their row counts and SHA-256 in
 * DIR/manifest.json, checked (rows in the file = rows detached), and dropped (a second
 * transaction that records the manifest in era_storage). An unresolved era before N refuses the
 * whole command, before anything is done. A crash between the two leaves the era detached;
 * running the command again writes and drops it. Ledger, audit log, bundles and scores are not
 * touched: `verify` checks an archived era's bundle from its stored bytes and chain links.
 */
export function archiveService(deps: { db: Database }) {
  const { db } = deps;

  /** Writes era `era`'s detached table of `table` to DIR/<table>.era-<era>.pgcopy (docs/operations.md). */
  async function writeTable(era: number, table: PartitionedTable, dir: string): Promise<ArchivedTable> {
    const detached = partitionName(table, era);
    const file = `${table}.era-${era}.pgcopy`;
    const path = join(dir, file);
    const hash = createHash('sha256');
    let bytes = 0;
    // Authors' predictions: readable by the owner only.
    const out = createWriteStream(`${path}.partial`, { mode: 0o600 });
    const rows = await inClientTransaction(db, async ({ client, tx }) => {
      const copied = await copyTableOut(client, detached, (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
        out.write(Buffer.from(chunk));
      });
      const held = await detachedRows(tx, detached);
      if (held !== copied) throw new Error(`${detached}: ${copied} rows written but the table holds ${held}; nothing was dropped`);
      return copied;
    }).finally(() => out.end());
    await finished(out);
    await rename(`${path}.partial`, path);
    return { era, table, file, rows, bytes, sha256: hash.digest('hex') };
  }

  async function readManifest(dir: string): Promise<ArchivedTable[]> {
    try {
      return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as ArchivedTable[];
    } catch {
      return [];
    }
  }

  async function archiveEra(era: number, dir: string): Promise<ArchivedTable[] | null> {
    const state = await inClientTransaction(db, async ({ tx }) => {
      const found = await lockEraForArchive(tx, era);
      if (!found || !found.resolved || found.archivedAt) return found;
      if (!found.detachedAt) await detachEra(tx, era, LOCK_TIMEOUT_MS);
      return found;
    });
    if (!state?.resolved || state.archivedAt) return null;
    const written: ArchivedTable[] = [];
    for (const table of PARTITIONED) written.push(await writeTable(era, table, dir));
    await inClientTransaction(db, ({ tx }) => dropDetached(tx, era, written));
    return written;
  }

  return {
    /** Archives the resolved eras before `before` into `dir`; refuses (409) when an era before it is not resolved. */
    async archive(before: number, dir: string): Promise<{ eras: number[]; tables: ArchivedTable[] }> {
      const { resolved, unresolved } = await inClientTransaction(db, ({ tx }) => erasBefore(tx, before));
      if (unresolved.length > 0) {
        throw conflict(`era${unresolved.length > 1 ? 's' : ''} ${unresolved.join(', ')} before ${before} ${unresolved.length > 1 ? 'are' : 'is'} not resolved; only resolved eras are archived: resolve them or pass a lower --before-era`);
      }
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const manifest = await readManifest(dir);
      const eras: number[] = [];
      const tables: ArchivedTable[] = [];
      for (const era of resolved) {
        const written = await archiveEra(era, dir);
        if (!written) continue;
        eras.push(era);
        tables.push(...written);
        const kept = manifest.filter((m) => m.era !== era);
        manifest.splice(0, manifest.length, ...kept, ...written);
        await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      }
      return { eras, tables };
    },
  };
}

export type ArchiveService = ReturnType<typeof archiveService>;
