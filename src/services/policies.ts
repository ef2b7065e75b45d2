import { and, asc, desc, eq, gt, lt, lte, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Config } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import { accounts, auditLog, metaModelRuns, policies } from '../db/schema.js';
import { decodeFloat64 } from '../domain/packed.js';
import { parsePolicy, type PolicyDocument } from '../domain/policy/index.js';
import { policyEffect, sectorTurnover, type EraPolicyEffect } from '../domain/policy/preview.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';
import { eraStatus, type ErasService } from './eras.js';

export type PolicyRow = typeof policies.$inferSelect;

/** A version as the meta-model step applies it. */
export interface PolicyVersion {
  id: string;
  name: string;
  version: number;
  document: PolicyDocument;
}

// Two-key advisory locks live apart from the one-key space the migrator uses.
const LOCK_CLASS = 0x5057; // "PW"
const ACTIVATION_LOCK = 0;

const author = alias(accounts, 'author');
const activator = alias(accounts, 'activator');

const summaryColumns = {
  id: policies.id,
  name: policies.name,
  version: policies.version,
  status: policies.status,
  document: policies.document,
  createdAt: policies.createdAt,
  activatedAt: policies.activatedAt,
  retiredAt: policies.retiredAt,
  authorId: author.id,
  authorName: author.name,
  activatorId: activator.id,
  activatorName: activator.name,
};

function selectPolicies(executor: Executor) {
  return executor
    .select(summaryColumns)
    .from(policies)
    .innerJoin(author, eq(author.id, policies.authorId))
    .leftJoin(activator, eq(activator.id, policies.activatedBy));
}

type SummaryRow = Awaited<ReturnType<typeof selectPolicies>>[number];

/** Stored documents were validated on the way in and cannot change (trigger); a failure here is a bug. */
export function storedDocument(document: unknown): PolicyDocument {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(`stored policy document is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.policy;
}

function present(row: SummaryRow) {
  const document = storedDocument(row.document);
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    status: row.status,
    description: document.description ?? null,
    mode: document.mode,
    author: { id: row.authorId, name: row.authorName },
    createdAt: row.createdAt,
    activatedAt: row.activatedAt,
    activatedBy: row.activatorId === null ? null : { id: row.activatorId, name: row.activatorName! },
    retiredAt: row.retiredAt,
    document,
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export type PolicyView = ReturnType<typeof present>;

/**
 * The version in force at `cutoff` (an era's close), or null when none was. A row keeps only its
 * latest active interval, so when no row's interval covers the cutoff the version in force then
 * may have been re-activated since: the append-only audit log has every activation.
 */
export async function policyInForce(cutoff: Date, executor: Executor): Promise<PolicyVersion | null> {
  const version = { id: policies.id, name: policies.name, version: policies.version, document: policies.document };
  const [row] = await executor
    .select(version)
    .from(policies)
    .where(and(lte(policies.activatedAt, cutoff), sql`(${policies.retiredAt} is null or ${policies.retiredAt} > ${cutoff})`))
    .orderBy(desc(policies.activatedAt))
    .limit(1);
  if (row) return { ...row, document: storedDocument(row.document) };
  // Only a version activated after the cutoff can have lost an interval that covered it.
  const [laterActivation] = await executor.select({ id: policies.id }).from(policies).where(gt(policies.activatedAt, cutoff)).limit(1);
  if (!laterActivation) return null;
  const [activation] = await executor
    .select({ subject: auditLog.subject })
    .from(auditLog)
    .where(and(eq(auditLog.action, 'policy.activate'), lte(auditLog.at, cutoff)))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(1);
  if (!activation) return null;
  const [earlier] = await executor.select(version).from(policies).where(eq(policies.id, activation.subject.slice('policy:'.length)));
  return earlier ? { ...earlier, document: storedDocument(earlier.document) } : null;
}

export function policiesService(db: Database, audit: AuditService, eras: ErasService, config: Pick<Config, 'POLICY_FOUR_EYES'>) {
  async function get(id: string, executor: Executor = db): Promise<PolicyView> {
    const [row] = await selectPolicies(executor).where(eq(policies.id, id));
    if (!row) throw notFound(`policy ${id} does not exist`);
    return present(row);
  }

  async function latestRun(eraNumber: number) {
    const [run] = await db
      .select({ id: metaModelRuns.id, seq: metaModelRuns.seq, unconstrained: metaModelRuns.unconstrained })
      .from(metaModelRuns)
      .where(eq(metaModelRuns.eraNumber, eraNumber))
      .orderBy(desc(metaModelRuns.seq))
      .limit(1);
    return run ?? null;
  }

  async function previousEraWithRun(eraNumber: number): Promise<number | null> {
    const [row] = await db
      .select({ era: sql<number | null>`max(${metaModelRuns.eraNumber})` })
      .from(metaModelRuns)
      .where(lt(metaModelRuns.eraNumber, eraNumber));
    return row?.era ?? null;
  }

  return {
    get,

    /** A new draft; its version is one more than the latest of that name, serialised per name. */
    async create(actorId: string, input: unknown) {
      const parsed = parsePolicy(input);
      if (!parsed.ok) {
        throw badRequest(`the policy document has ${parsed.problems.length} problem(s)`, parsed.problems);
      }
      const document = parsed.policy;
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${document.name}))`);
        const [latest] = await tx
          .select({ version: sql<number | null>`max(${policies.version})` })
          .from(policies)
          .where(eq(policies.name, document.name));
        const version = (latest?.version ?? 0) + 1;
        const [created] = await tx
          .insert(policies)
          .values({ name: document.name, version, document, authorId: actorId })
          .returning({ id: policies.id, name: policies.name, version: policies.version, status: policies.status });
        await audit.record(tx, {
          actorId,
          action: 'policy.create',
          subject: `policy:${created.id}`,
          details: { name: created.name, version, document },
        });
        return created;
      });
    },

    async list(filter: { name?: string } = {}): Promise<PolicyView[]> {
      const rows = await selectPolicies(db)
        .where(filter.name === undefined ? undefined : eq(policies.name, filter.name))
        .orderBy(asc(policies.name), desc(policies.version));
      return rows.map(present);
    },

    /**
     * Makes a draft or retired version the active one and retires the one it replaces, in one
     * transaction. Activating the version already active is a 409: nothing would change, and an
     * audit entry with a fresh reason would misstate when it took effect.
     */
    async activate(who: Principal, id: string, reason: string) {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${ACTIVATION_LOCK})`);
        const [target] = await tx.select().from(policies).where(eq(policies.id, id)).for('update');
        if (!target) throw notFound(`policy ${id} does not exist`);
        if (config.POLICY_FOUR_EYES && target.authorId === who.accountId) {
          throw forbidden(`four-eyes rule: ${target.name} v${target.version} was written by you; another admin must activate it`);
        }
        if (target.status === 'active') {
          throw conflict(`${target.name} v${target.version} is already active (since ${target.activatedAt?.toISOString()})`);
        }
        const [current] = await tx.select().from(policies).where(eq(policies.status, 'active')).for('update');
        let retired: PolicyRow | undefined;
        if (current) {
          [retired] = await tx
            .update(policies)
            .set({ status: 'retired', retiredAt: sql`now()` })
            .where(eq(policies.id, current.id))
            .returning();
          await audit.record(tx, {
            actorId: who.accountId,
            action: 'policy.retire',
            subject: `policy:${current.id}`,
            reason,
            details: {
              name: current.name,
              version: current.version,
              replacedBy: target.id,
              before: { status: current.status, activatedAt: current.activatedAt, retiredAt: current.retiredAt },
              after: { status: retired.status, activatedAt: retired.activatedAt, retiredAt: retired.retiredAt },
            },
          });
        }
        const [activated] = await tx
          .update(policies)
          .set({ status: 'active', activatedAt: sql`now()`, activatedBy: who.accountId, retiredAt: null })
          .where(eq(policies.id, id))
          .returning();
        await audit.record(tx, {
          actorId: who.accountId,
          action: 'policy.activate',
          subject: `policy:${id}`,
          reason,
          details: {
            name: target.name,
            version: target.version,
            replaces: current?.id ?? null,
            before: { status: target.status, activatedAt: target.activatedAt, activatedBy: target.activatedBy, retiredAt: target.retiredAt },
            after: { status: activated.status, activatedAt: activated.activatedAt, activatedBy: activated.activatedBy, retiredAt: activated.retiredAt },
          },
        });
        return { id: activated.id, name: activated.name, version: activated.version, status: 'active' as const, activatedAt: activated.activatedAt!, retired: retired?.id ?? null };
      });
    },

    /** The version in force now, or 404. */
    async active(): Promise<PolicyView> {
      const [row] = await selectPolicies(db).where(eq(policies.status, 'active'));
      if (!row) throw notFound('no policy is active: the meta-model is served unconstrained');
      return present(row);
    },

    policyInForce,

    /**
     * Dry-runs a version (enforced even when its mode is shadow) on closed eras, each on the
     * unconstrained meta-model of its latest run; turnover compares with the closest earlier era
     * that has a run, under the same version.
     */
    async preview(id: string, eraNumbers: readonly number[]) {
      const policy = await get(id);
      const runs = new Map<number, NonNullable<Awaited<ReturnType<typeof latestRun>>>>();
      const unknown: number[] = [];
      const notReady: string[] = [];
      for (const number of eraNumbers) {
        const era = await eras.get(number).catch((error: unknown) => {
          if (error instanceof AppError && error.status === 404) return null;
          throw error;
        });
        if (!era) {
          unknown.push(number);
          continue;
        }
        const status = eraStatus(era);
        const run = await latestRun(number);
        if (status !== 'closed' && status !== 'resolved') notReady.push(`era ${number} is ${status}; only closed eras can be previewed`);
        else if (!run) notReady.push(`era ${number} is closed but has no meta-model run yet`);
        else runs.set(number, run);
      }
      if (unknown.length > 0) throw notFound(`no era ${unknown.join(', ')}: preview needs existing, closed eras`);
      if (notReady.length > 0) throw conflict(notReady.join('; '));

      const effects = new Map<number, EraPolicyEffect>();
      const effectOn = async (number: number, run?: { unconstrained: Buffer } | null): Promise<EraPolicyEffect | null> => {
        const cached = effects.get(number);
        if (cached) return cached;
        const source = run ?? (await latestRun(number));
        if (!source) return null;
        const universe = await eras.universeRows(number);
        const effect = policyEffect(policy.document, universe, decodeFloat64(source.unconstrained));
        effects.set(number, effect);
        return effect;
      };

      const results = [];
      for (const number of eraNumbers) {
        const run = runs.get(number)!;
        const effect = (await effectOn(number, run))!;
        const previous = await previousEraWithRun(number);
        const before = previous === null ? null : await effectOn(previous);
        const { sectorExposure, unconstrainedExposure, sectorTilt, spearman, ...counts } = effect;
        results.push({
          era: number,
          run: { id: run.id, seq: run.seq },
          ...counts,
          sectorTilt: sectorTilt.map((s) => ({ ...s, before: finiteOrNull(s.before), after: finiteOrNull(s.after) })),
          spearman: finiteOrNull(spearman),
          turnover:
            previous === null || before === null
              ? null
              : {
                  previousEra: previous,
                  sector: sectorTurnover(sectorExposure, before.sectorExposure),
                  sectorUnconstrained: sectorTurnover(unconstrainedExposure, before.unconstrainedExposure),
                  excludedShareChange: effect.excluded.share - before.excluded.share,
                },
        });
      }
      return { policy: { id: policy.id, name: policy.name, version: policy.version, mode: policy.mode }, eras: results };
    },
  };
}

export type PoliciesService = ReturnType<typeof policiesService>;
