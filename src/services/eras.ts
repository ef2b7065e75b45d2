import { createHash } from 'node:crypto';
import { boundedCache } from '../cache.js';
import type { Config } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import * as erasDal from '../db/eras.js';
import { announceOpenings, emitEvents } from '../db/events.js';
import type { EraRow } from '../db/eras.js';
import { isUniqueViolation } from '../db/errors.js';
import { ensureEraPartitions } from '../db/partitions.js';
import { hasSubmissions } from '../db/submissions.js';
import * as universesDal from '../db/universes.js';
import { eraStatus, payoutParams } from '../domain/era.js';
import { DEFAULT_PAYOUT_PARAMS, type PayoutParams } from '../domain/scoring.js';
import { universeColumnsRead, type UniverseRow } from '../domain/universe.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { Actor, AuditService } from './audit.js';

export type { EraRow };

export interface NewEra {
  number: number;
  opensAt?: Date;
  closesAt: Date;
  mainTarget?: string;
  minCoverage?: number;
  payout?: Partial<PayoutParams>;
}

export function presentEra(era: EraRow, now = new Date()) {
  return {
    number: era.number,
    status: eraStatus(era, now),
    opensAt: era.opensAt,
    closesAt: era.closesAt,
    closedAt: era.closedAt,
    resolvedAt: era.resolvedAt,
    mainTarget: era.mainTarget,
    minCoverage: era.minCoverage,
    payout: payoutParams(era),
    universeSize: era.universeSize,
    createdAt: era.createdAt,
  };
}

/** The universe as the ingest and close steps use it: ids in position order and an id → position index. */
export interface UniverseIndex {
  digest: string;
  ids: string[];
  index: Map<string, number>;
}

export function universeDigest(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}

export function erasService(db: Database, audit: AuditService, config: Config) {
  const universeCache = boundedCache<string, UniverseIndex>({
    max: 16,
    staleness: 'universes are immutable once identified by their digest, so a cached one is never stale',
  });

  async function get(number: number, executor: Executor = db): Promise<EraRow> {
    const era = await erasDal.findEra(executor, number);
    if (!era) throw notFound(`era ${number} does not exist`);
    return era;
  }

  // Ingest reads the era on every submission; eras without a universe are not kept.
  const ingestCache = boundedCache<number, EraRow>({
    max: 64,
    ttlMs: 1_000,
    staleness: 'store_submission re-checks lateness and the universe digest under the era lock; a mismatch retries with a fresh read',
  });

  return {
    get,

    async forIngest(number: number, fresh = false): Promise<EraRow> {
      const hit = fresh ? undefined : ingestCache.get(number);
      if (hit) return hit;
      const era = await get(number);
      if (era.universeDigest) ingestCache.set(number, era);
      else ingestCache.delete(number);
      return era;
    },

    async list(): Promise<EraRow[]> {
      return erasDal.listEras(db);
    },

    /** The era whose window contains now; the latest such when several overlap. */
    async current(): Promise<EraRow> {
      const era = await erasDal.currentEra(db);
      if (!era) throw notFound('no era is open now; name one with ?era=N');
      return era;
    },

    async create(actor: Actor, input: NewEra): Promise<EraRow> {
      const opensAt = input.opensAt ?? new Date();
      if (input.closesAt <= opensAt) {
        throw badRequest('closesAt must be after opensAt', [
          { path: 'body.closesAt', message: `closesAt ${input.closesAt.toISOString()} is not after opensAt ${opensAt.toISOString()}` },
        ]);
      }
      const p = input.payout ?? {};
      const d = DEFAULT_PAYOUT_PARAMS;
      try {
        const created = await db.transaction(async (tx) => {
          const era = await erasDal.insertEra(tx, {
            number: input.number,
            opensAt,
            closesAt: input.closesAt,
            mainTarget: input.mainTarget ?? config.MAIN_TARGET,
            minCoverage: input.minCoverage ?? 1,
            corrMultiplier: String(p.corrMultiplier ?? d.corrMultiplier),
            mmcMultiplier: String(p.mmcMultiplier ?? d.mmcMultiplier),
            clip: String(p.clip ?? d.clip),
            stakeThreshold: String(p.stakeThreshold ?? d.stakeThreshold),
            createdBy: actor.accountId,
          });
          await audit.record(tx, { actor, action: 'era.create', subject: `era:${era.number}`, details: { after: presentEra(era) } });
          await emitEvents(tx, await announceOpenings(tx, era.number));
          return era;
        });
        // Its partitions, before any submission can arrive (src/db/partitions.ts), in a transaction of
        // their own; should their locks be busy, its rows go to the DEFAULT partition meanwhile.
        await db.transaction((tx) => ensureEraPartitions(tx, [created.number], 2_000)).catch(() => undefined);
        return created;
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`era ${input.number} already exists`);
        throw error;
      }
    },

    /** Replaces the universe; refused once a submission has arrived, since submissions are aligned to it. */
    async replaceUniverse(actor: Actor, number: number, rows: UniverseRow[]) {
      const ids = rows.map((r) => r.id);
      const digest = universeDigest(ids);
      return db.transaction(async (tx) => {
        const era = await erasDal.lockEra(tx, number, 'update');
        if (!era) throw notFound(`era ${number} does not exist`);
        if (await hasSubmissions(tx, number)) throw conflict(`era ${number} already has submissions; its universe is fixed`);
        await universesDal.replaceUniverseRows(tx, number, rows);
        await erasDal.setUniverse(tx, number, { size: rows.length, digest });
        await audit.record(tx, {
          actor,
          action: 'universe.replace',
          subject: `era:${number}`,
          details: { before: { count: era.universeSize, digest: era.universeDigest }, after: { count: rows.length, digest } },
        });
        return { era: number, count: rows.length, columns: universeColumnsRead(rows) };
      });
    },

    /** Ids in position order with their index; cached by digest. */
    async universeIndex(era: EraRow, executor: Executor = db): Promise<UniverseIndex> {
      if (!era.universeDigest) throw conflict(`era ${era.number} has no universe yet`);
      const cached = universeCache.get(era.universeDigest);
      if (cached) return cached;
      const ids = await universesDal.universeIds(executor, era.number);
      const universe = { digest: era.universeDigest, ids, index: new Map(ids.map((id, i) => [id, i])) };
      universeCache.set(era.universeDigest, universe);
      return universe;
    },

    /** Full rows with private attributes, for the policy step and operators. */
    async universeRows(number: number, executor: Executor = db): Promise<UniverseRow[]> {
      return universesDal.universeRowsOf(executor, number);
    },
  };
}

export type ErasService = ReturnType<typeof erasService>;
