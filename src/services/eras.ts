import { createHash } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { eras, submissions, universeRows } from '../db/schema.js';
import type { UniverseRow } from '../domain/universe.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AuditService } from './audit.js';

export type EraRow = typeof eras.$inferSelect;
export type EraStatus = 'scheduled' | 'open' | 'closed' | 'resolved';

export interface PayoutParams {
  corrMultiplier: number;
  mmcMultiplier: number;
  clip: number;
  stakeThreshold: number;
}

export interface NewEra {
  number: number;
  opensAt?: Date;
  closesAt: Date;
  mainTarget?: string;
  minCoverage?: number;
  payout?: Partial<PayoutParams>;
}

/** The clock and the closing decide: an era past closesAt is closed even before the scheduler runs. */
export function eraStatus(era: EraRow, now = new Date()): EraStatus {
  if (era.resolvedAt) return 'resolved';
  if (era.closedAt || now >= era.closesAt) return 'closed';
  if (now < era.opensAt) return 'scheduled';
  return 'open';
}

export function payoutParams(era: EraRow): PayoutParams {
  return {
    corrMultiplier: Number(era.corrMultiplier),
    mmcMultiplier: Number(era.mmcMultiplier),
    clip: Number(era.clip),
    stakeThreshold: Number(era.stakeThreshold),
  };
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

const UNIVERSE_CACHE_SIZE = 16;

export function erasService(db: Database, audit: AuditService, config: Config) {
  // Universes are immutable once identified by their digest, so caching them is never stale.
  const universeCache = new Map<string, UniverseIndex>();

  async function get(number: number, executor: Executor = db): Promise<EraRow> {
    const [era] = await executor.select().from(eras).where(eq(eras.number, number));
    if (!era) throw notFound(`era ${number} does not exist`);
    return era;
  }

  // Ingest reads the era on every submission; store_submission re-checks lateness and the
  // universe under lock, so a second-old copy is safe (eras without a universe are not kept).
  const ingestCache = new Map<number, { era: EraRow; until: number }>();
  const INGEST_CACHE_MS = 1_000;

  return {
    get,

    async forIngest(number: number, fresh = false): Promise<EraRow> {
      const hit = ingestCache.get(number);
      if (!fresh && hit && hit.until > Date.now()) return hit.era;
      const era = await get(number);
      if (era.universeDigest) ingestCache.set(number, { era, until: Date.now() + INGEST_CACHE_MS });
      else ingestCache.delete(number);
      return era;
    },

    async list(): Promise<EraRow[]> {
      return db.select().from(eras).orderBy(asc(eras.number));
    },

    /** The era whose window contains now; the latest such when several overlap. */
    async current(): Promise<EraRow> {
      const [era] = await db
        .select()
        .from(eras)
        .where(sql`${eras.opensAt} <= now() and ${eras.closesAt} > now() and ${eras.closedAt} is null`)
        .orderBy(sql`${eras.number} desc`)
        .limit(1);
      if (!era) throw notFound('no era is open now; name one with ?era=N');
      return era;
    },

    async create(actorId: string, input: NewEra): Promise<EraRow> {
      const opensAt = input.opensAt ?? new Date();
      if (input.closesAt <= opensAt) {
        throw badRequest('closesAt must be after opensAt', [
          { path: 'body.closesAt', message: `closesAt ${input.closesAt.toISOString()} is not after opensAt ${opensAt.toISOString()}` },
        ]);
      }
      const p = input.payout ?? {};
      try {
        return await db.transaction(async (tx) => {
          const [era] = await tx
            .insert(eras)
            .values({
              number: input.number,
              opensAt,
              closesAt: input.closesAt,
              mainTarget: input.mainTarget ?? config.MAIN_TARGET,
              minCoverage: input.minCoverage ?? 1,
              corrMultiplier: String(p.corrMultiplier ?? 0.5),
              mmcMultiplier: String(p.mmcMultiplier ?? 2),
              clip: String(p.clip ?? 0.05),
              stakeThreshold: String(p.stakeThreshold ?? 72000),
              createdBy: actorId,
            })
            .returning();
          await audit.record(tx, { actorId, action: 'era.create', subject: `era:${era.number}`, details: { after: presentEra(era) } });
          return era;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`era ${input.number} already exists`);
        throw error;
      }
    },

    /** Replaces the universe; refused once a submission has arrived, since submissions are aligned to it. */
    async replaceUniverse(actorId: string, number: number, rows: UniverseRow[]) {
      const ids = rows.map((r) => r.id);
      const digest = universeDigest(ids);
      return db.transaction(async (tx) => {
        const [era] = await tx.select().from(eras).where(eq(eras.number, number)).for('update');
        if (!era) throw notFound(`era ${number} does not exist`);
        const [first] = await tx.select({ id: submissions.id }).from(submissions).where(eq(submissions.eraNumber, number)).limit(1);
        if (first) throw conflict(`era ${number} already has submissions; its universe is fixed`);
        await tx.delete(universeRows).where(eq(universeRows.eraNumber, number));
        await tx.execute(sql`
          insert into universe_rows (era_number, position, id, sector, industry, country, tags, attributes)
          select ${number}, (e.ord - 1)::int, r.id, r.sector, r.industry, r.country, coalesce(r.tags, '{}'), coalesce(r.attributes, '{}')
          from jsonb_array_elements(${JSON.stringify(rows)}::jsonb) with ordinality as e(doc, ord),
            jsonb_to_record(e.doc) as r(id text, sector text, industry text, country text, tags text[], attributes jsonb)`);
        await tx.update(eras).set({ universeSize: rows.length, universeDigest: digest }).where(eq(eras.number, number));
        await audit.record(tx, {
          actorId,
          action: 'universe.replace',
          subject: `era:${number}`,
          details: { before: { count: era.universeSize, digest: era.universeDigest }, after: { count: rows.length, digest } },
        });
        return { era: number, count: rows.length };
      });
    },

    /** Ids in position order with their index; cached by digest. */
    async universeIndex(era: EraRow, executor: Executor = db): Promise<UniverseIndex> {
      if (!era.universeDigest) throw conflict(`era ${era.number} has no universe yet`);
      const cached = universeCache.get(era.universeDigest);
      if (cached) return cached;
      const rows = await executor
        .select({ id: universeRows.id })
        .from(universeRows)
        .where(eq(universeRows.eraNumber, era.number))
        .orderBy(asc(universeRows.position));
      const ids = rows.map((r) => r.id);
      const universe = { digest: era.universeDigest, ids, index: new Map(ids.map((id, i) => [id, i])) };
      if (universeCache.size >= UNIVERSE_CACHE_SIZE) universeCache.delete(universeCache.keys().next().value!);
      universeCache.set(era.universeDigest, universe);
      return universe;
    },

    /** Full rows with private attributes, for the policy step and operators. */
    async universeRows(number: number, executor: Executor = db): Promise<UniverseRow[]> {
      return executor
        .select({
          id: universeRows.id,
          sector: universeRows.sector,
          industry: universeRows.industry,
          country: universeRows.country,
          tags: universeRows.tags,
          attributes: universeRows.attributes,
        })
        .from(universeRows)
        .where(eq(universeRows.eraNumber, number))
        .orderBy(asc(universeRows.position));
    },
  };
}

export type ErasService = ReturnType<typeof erasService>;
