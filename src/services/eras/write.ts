import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import * as erasDal from '../../db/eras.js';
import type { EraRow } from '../../db/eras.js';
import { isUniqueViolation } from '../../db/errors.js';
import { announceOpenings, emitEvents } from '../../db/events.js';
import { openingEvents } from '../../domain/events.js';
import { hasSubmissions } from '../../db/submissions.js';
import * as universesDal from '../../db/universes.js';
import { DEFAULT_PAYOUT_PARAMS, type PayoutParams } from '../../domain/scoring.js';
import { universeColumnsRead } from '../../domain/universe.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import type { IngestBody } from '../../ingest/id-value.js';
import { parseUniverse } from '../../ingest/universe.js';
import type { Actor, AuditService } from '../audit.js';
import { makeEraPartitions } from '../retention.js';
import { presentEra, universeDigest } from './present.js';

/** What the eras service is made from. */
export interface ErasDeps {
  db: Database;
  audit: AuditService;
  config: Pick<Config, 'MAIN_TARGET'>;
}

export interface NewEra {
  number: number;
  opensAt?: Date;
  closesAt: Date;
  mainTarget?: string;
  minCoverage?: number;
  payout?: Partial<PayoutParams>;
}

/** A new era (opening now unless told), audited, with its opening announced to whoever listens. */
export async function createEra({ db, audit, config }: ErasDeps, actor: Actor, input: NewEra): Promise<EraRow> {
  const opensAt = input.opensAt ?? new Date();
  if (input.closesAt <= opensAt) {
    throw badRequest(`closesAt ${input.closesAt.toISOString()} must be after opensAt ${opensAt.toISOString()}`);
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
      await audit.record(tx, { actor, action: 'era.create', subject: `era:${era.number}`, details: { after: presentEra(era, new Date()) } });
      await emitEvents(tx, openingEvents(await announceOpenings(tx, era.number)));
      return era;
    });
    // Its partitions, before any submission can arrive (src/db/partitions.ts), in a transaction of
    // their own; should their locks stay busy, its rows go to the DEFAULT partition meanwhile.
    await makeEraPartitions(db, [created.number]).catch(() => undefined);
    return created;
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`era ${input.number} already exists`);
    throw error;
  }
}

/**
 * Replaces the universe from a request body (CSV or JSON rows, parsed and checked by
 * ingest/universe.ts before anything is read); refused once a submission has arrived, since
 * submissions are aligned to it.
 */
export async function replaceUniverse({ db, audit }: Pick<ErasDeps, 'db' | 'audit'>, actor: Actor, number: number, body: IngestBody) {
  const rows = parseUniverse(body);
  const digest = universeDigest(rows.map((r) => r.id));
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
}
