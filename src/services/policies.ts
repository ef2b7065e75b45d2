import { asc, desc, eq, lt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Config } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import { policiesDal, type ActivationRow } from '../db/policies.js';
import { accounts, eras as erasTable, metaModelRuns, policies } from '../db/schema.js';
import { latestTargets } from '../db/targets.js';
import { exposuresOf } from '../domain/era-report.js';
import { leaveOneOutValues, policyCost } from '../domain/policy/cost.js';
import { diffPolicies, type PolicyDiff } from '../domain/policy/diff.js';
import { parsePolicy, type PolicyDocument } from '../domain/policy/index.js';
import { policyEffect, sectorTurnover, type EraPolicyEffect } from '../domain/policy/preview.js';
import { policyWarnings, universeVocabulary, type PolicyWarning } from '../domain/policy/warnings.js';
import { decodeFloat64 } from '../domain/packed.js';
import type { UniverseRow } from '../domain/universe.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';
import { eraStatus } from '../domain/era.js';
import type { ErasService } from './eras.js';

export type PolicyRow = typeof policies.$inferSelect;

/** A version as the meta-model step applies it. */
export interface PolicyVersion {
  id: string;
  name: string;
  version: number;
  document: PolicyDocument;
}

/** How many of the latest universes a new policy is checked against. */
const RECENT_UNIVERSES = 3;

const author = alias(accounts, 'author');

function selectPolicies(executor: Executor) {
  return executor
    .select({ id: policies.id, name: policies.name, version: policies.version, document: policies.document, createdAt: policies.createdAt, authorId: author.id, authorName: author.name })
    .from(policies)
    .innerJoin(author, eq(author.id, policies.authorId));
}

type SummaryRow = Awaited<ReturnType<typeof selectPolicies>>[number];

/** Stored documents were validated on the way in and cannot change (trigger); a failure here is a bug. */
export function storedDocument(document: unknown): PolicyDocument {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(`stored policy document is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.policy;
}

export type PolicyStatus = 'draft' | 'scheduled' | 'active' | 'retired';

/**
 * Where the activations stand: `opening` is the first era an activation at once applies to; the
 * version in force now is the last activation from that era or before; a later one is upcoming.
 */
export interface ActivationState {
  opening: number;
  activations: ActivationRow[];
  current: ActivationRow | null;
  upcoming: ActivationRow | null;
}

export async function activationState(executor: Executor): Promise<ActivationState> {
  const dal = policiesDal(executor);
  const opening = await dal.openingEra();
  const activations = await dal.activations();
  const current = activations.filter((a) => a.fromEra <= opening).at(-1) ?? null;
  const upcoming = activations.filter((a) => a.fromEra > opening).at(-1) ?? null;
  return { opening, activations, current, upcoming };
}

function statusOf(policyId: string, state: ActivationState): PolicyStatus {
  if (state.current?.policyId === policyId) return 'active';
  if (state.upcoming?.policyId === policyId) return 'scheduled';
  return state.activations.some((a) => a.policyId === policyId && a.fromEra <= state.opening) ? 'retired' : 'draft';
}

function present(row: SummaryRow, state: ActivationState, retiredAt: Date | null) {
  const document = storedDocument(row.document);
  const latest = state.activations.filter((a) => a.policyId === row.id).at(-1) ?? null;
  const status = statusOf(row.id, state);
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    status,
    description: document.description ?? null,
    mode: document.mode,
    author: { id: row.authorId, name: row.authorName },
    createdAt: row.createdAt,
    activatedAt: latest?.activatedAt ?? null,
    activatedBy: latest?.activatedBy ?? null,
    fromEra: latest?.fromEra ?? null,
    retiredAt: status === 'retired' ? retiredAt : null,
    document,
  };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export type PolicyView = ReturnType<typeof present>;

/** The version in force for an era (the activations table), or null when none was activated for it. */
export async function versionForEra(era: number, executor: Executor): Promise<PolicyVersion | null> {
  const row = await policiesDal(executor).versionForEra(era);
  return row === null ? null : { id: row.id, name: row.name, version: row.version, document: storedDocument(row.document) };
}

/** A provisional meta-model of an open era: the submissions and stakes so far, as a close would take them now. */
export type OpenEraMetaModel = (era: number) => Promise<{ unconstrained: Float64Array; models: number }>;

export function policiesService(db: Database, audit: AuditService, eras: ErasService, config: Pick<Config, 'POLICY_FOUR_EYES'>, openEraMetaModel: OpenEraMetaModel) {
  /** When the activation after `activation` took force: its approval, or the cutoff of the era before its fromEra if later. */
  async function tookForceAt(next: ActivationRow, executor: Executor): Promise<Date> {
    const cutoff = await policiesDal(executor).cutoffBefore(next.fromEra);
    return cutoff !== null && cutoff > next.activatedAt ? cutoff : next.activatedAt;
  }

  async function retiredAt(policyId: string, state: ActivationState, executor: Executor): Promise<Date | null> {
    const index = state.activations.findLastIndex((a) => a.policyId === policyId && a.fromEra <= state.opening);
    const next = index < 0 ? undefined : state.activations.slice(index + 1).find((a) => a.fromEra <= state.opening);
    return next === undefined ? null : tookForceAt(next, executor);
  }

  async function get(id: string, executor: Executor = db): Promise<PolicyView> {
    const [row] = await selectPolicies(executor).where(eq(policies.id, id));
    if (!row) throw notFound(`policy ${id} does not exist`);
    const state = await activationState(executor);
    return present(row, state, await retiredAt(id, state, executor));
  }

  /** The universes of the latest eras that have one, newest first. */
  async function recentUniverses(count = RECENT_UNIVERSES): Promise<{ era: number; rows: UniverseRow[] }[]> {
    const recent = await db.select({ number: erasTable.number }).from(erasTable).where(sql`${erasTable.universeSize} > 0`).orderBy(desc(erasTable.number)).limit(count);
    return Promise.all(recent.map(async ({ number }) => ({ era: number, rows: await eras.universeRows(number) })));
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

  /** The closed era's latest run, or for an open era the submissions so far (provisional). */
  async function eraSignal(number: number) {
    const era = await eras.get(number).catch((error: unknown) => {
      if (error instanceof AppError && error.status === 404) return null;
      throw error;
    });
    if (era === null) return { missing: number } as const;
    const status = eraStatus(era);
    if (status === 'scheduled') return { problem: `era ${number} has not opened yet; preview needs submissions` } as const;
    if (!era.universeDigest) return { problem: `era ${number} has no universe yet` } as const;
    if (status === 'open' || !era.closedAt) {
      const provisional = await openEraMetaModel(number);
      if (provisional.models === 0) return { problem: `era ${number} is open but has no staked on-time submission yet` } as const;
      return { era: number, run: null, provisional: { models: provisional.models }, unconstrained: provisional.unconstrained } as const;
    }
    const run = await latestRun(number);
    if (!run) return { problem: `era ${number} is closed but has no meta-model run yet` } as const;
    return { era: number, run: { id: run.id, seq: run.seq }, provisional: null, unconstrained: decodeFloat64(run.unconstrained) } as const;
  }

  return {
    get,

    /** A new draft; its version is one more than the latest of that name, serialised per name. Warns about what no recent universe has. */
    async create(actorId: string, input: unknown) {
      const parsed = parsePolicy(input);
      if (!parsed.ok) {
        throw badRequest(`the policy document has ${parsed.problems.length} problem(s)`, parsed.problems);
      }
      const document = parsed.policy;
      const warnings = policyWarnings(document, universeVocabulary(await recentUniverses()));
      const created = await db.transaction(async (tx) => {
        await policiesDal(tx).lockName(document.name);
        const [latest] = await tx
          .select({ version: sql<number | null>`max(${policies.version})` })
          .from(policies)
          .where(eq(policies.name, document.name));
        const version = (latest?.version ?? 0) + 1;
        const [row] = await tx
          .insert(policies)
          .values({ name: document.name, version, document, authorId: actorId })
          .returning({ id: policies.id, name: policies.name, version: policies.version });
        await audit.record(tx, {
          actorId,
          action: 'policy.create',
          subject: `policy:${row.id}`,
          details: { name: row.name, version, document },
        });
        return row;
      });
      return { ...created, status: 'draft' as const, warnings };
    },

    async list(filter: { name?: string } = {}): Promise<PolicyView[]> {
      const rows = await selectPolicies(db)
        .where(filter.name === undefined ? undefined : eq(policies.name, filter.name))
        .orderBy(asc(policies.name), desc(policies.version));
      const state = await activationState(db);
      return Promise.all(rows.map(async (row) => present(row, state, await retiredAt(row.id, state, db))));
    },

    /**
     * Puts a version in force at once (from the first era whose cutoff has not passed) or from a
     * named later era (scheduled). A later activation cancels a schedule that has not taken force.
     * Activating the version already in force, with nothing scheduled, is a 409: nothing would change.
     */
    async activate(who: Principal, id: string, reason: string, fromEra?: number) {
      return db.transaction(async (tx) => {
        const dal = policiesDal(tx);
        await dal.lockActivations('exclusive');
        const [target] = await tx.select().from(policies).where(eq(policies.id, id));
        if (!target) throw notFound(`policy ${id} does not exist`);
        if (config.POLICY_FOUR_EYES && target.authorId === who.accountId) {
          throw forbidden(`four-eyes rule: ${target.name} v${target.version} was written by you; another admin must activate it`);
        }
        const state = await activationState(tx);
        if (fromEra !== undefined && fromEra < state.opening) {
          throw conflict(`era ${fromEra} has closed or is past its closesAt; fromEra must be ${state.opening} or later (or omit it to activate at once)`);
        }
        const from = fromEra ?? state.opening;
        if (state.current?.policyId === id && state.upcoming === null && from === state.opening) {
          throw conflict(`${target.name} v${target.version} is already in force (since ${state.current.activatedAt.toISOString()}, from era ${state.current.fromEra})`);
        }
        const activation = await dal.insertActivation({ policyId: id, fromEra: from, scheduled: fromEra !== undefined, activatedBy: who.accountId, reason });
        const cancelled = await dal.cancelPending(state.opening, activation.id);
        const scheduled = from > state.opening;
        const replaced = scheduled ? null : state.current;
        if (replaced !== null && replaced.policyId !== id) {
          await audit.record(tx, {
            actorId: who.accountId,
            action: 'policy.retire',
            subject: `policy:${replaced.policyId}`,
            reason,
            details: { name: replaced.name, version: replaced.version, replacedBy: id, fromEra: from },
          });
        }
        await audit.record(tx, {
          actorId: who.accountId,
          action: 'policy.activate',
          subject: `policy:${id}`,
          reason,
          details: {
            name: target.name,
            version: target.version,
            fromEra: from,
            status: scheduled ? 'scheduled' : 'active',
            replaces: replaced?.policyId ?? null,
            cancelledSchedules: cancelled.map((c) => ({ policyId: c.policyId, fromEra: c.fromEra })),
          },
        });
        return {
          id,
          name: target.name,
          version: target.version,
          status: scheduled ? ('scheduled' as const) : ('active' as const),
          fromEra: from,
          activatedAt: activation.activatedAt,
          retired: replaced !== null && replaced.policyId !== id ? replaced.policyId : null,
        };
      });
    },

    /** The version in force now and the one scheduled to take force, if any; 404 when neither exists. */
    async active() {
      const state = await activationState(db);
      if (state.current === null && state.upcoming === null) throw notFound('no policy is active or scheduled: the meta-model is served unconstrained');
      const view = (a: ActivationRow) => ({ id: a.policyId, name: a.name, version: a.version, fromEra: a.fromEra, activatedAt: a.activatedAt, reason: a.reason, document: storedDocument(a.document) });
      return { current: state.current === null ? null : view(state.current), upcoming: state.upcoming === null ? null : view(state.upcoming), nextEra: state.opening };
    },

    versionForEra,

    /** What changed from version `against` to version `id`. */
    async diff(id: string, against: string): Promise<{ from: PolicyRef; to: PolicyRef } & PolicyDiff> {
      const [to, from] = await Promise.all([get(id), get(against)]);
      return { from: ref(from), to: ref(to), ...diffPolicies(from.document, to.document) };
    },

    /**
     * Every activation that took force or is scheduled, oldest first, with the eras it covers and
     * what it changed against the version in force before it. Public: names no account.
     */
    async changelog() {
      const state = await activationState(db);
      const entries = [];
      let previous: PolicyDocument | null = null;
      for (const [i, a] of state.activations.entries()) {
        const document = storedDocument(a.document);
        const next = state.activations[i + 1];
        const toEra = next === undefined ? null : next.fromEra - 1;
        const change = diffPolicies(previous, document);
        entries.push({
          name: a.name,
          version: a.version,
          status: a === state.current ? ('active' as const) : a.fromEra > state.opening ? ('scheduled' as const) : ('retired' as const),
          fromEra: a.fromEra,
          // Replaced before its first era closed: it covers no era.
          toEra: toEra !== null && toEra < a.fromEra ? a.fromEra - 1 : toEra,
          coversNoEra: toEra !== null && toEra < a.fromEra,
          activatedAt: a.activatedAt,
          scheduled: a.scheduled,
          reason: a.reason,
          description: document.description ?? null,
          rules: { added: change.rules.added, removed: change.rules.removed, changed: change.rules.changed.map((c) => ({ id: c.id, fields: c.fields, from: c.from, to: c.to })) },
          fields: change.fields,
        });
        previous = document;
      }
      return { nextEra: state.opening, entries };
    },

    /** Fields and values of a document that no recent universe has (also part of create's reply). */
    async warnings(document: PolicyDocument) {
      return policyWarnings(document, universeVocabulary(await recentUniverses()));
    },

    /**
     * Dry-runs a version (enforced even when its mode is shadow) on eras: a closed era on the
     * unconstrained meta-model of its latest run, an open one on the submissions and stakes so far.
     * Turnover compares with the closest earlier era that has a run, under the same version; the
     * cost of the policy is given on every target the era has.
     */
    async preview(id: string, eraNumbers: readonly number[]) {
      const policy = await get(id);
      const signals = [];
      const unknown: number[] = [];
      const notReady: string[] = [];
      for (const number of eraNumbers) {
        const signal = await eraSignal(number);
        if ('missing' in signal) unknown.push(number);
        else if ('problem' in signal) notReady.push(signal.problem!);
        else signals.push(signal);
      }
      if (unknown.length > 0) throw notFound(`no era ${unknown.join(', ')}: preview needs existing eras that are open or closed`);
      if (notReady.length > 0) throw conflict(notReady.join('; '));

      const effects = new Map<number, EraPolicyEffect>();
      const effectOn = async (number: number, universe: UniverseRow[], unconstrained: Float64Array): Promise<EraPolicyEffect> => {
        const cached = effects.get(number);
        if (cached) return cached;
        const effect = policyEffect(policy.document, universe, unconstrained);
        effects.set(number, effect);
        return effect;
      };

      const universes: { era: number; rows: UniverseRow[] }[] = [];
      const results = [];
      for (const signal of signals) {
        const number = signal.era;
        const universe = await eras.universeRows(number);
        universes.push({ era: number, rows: universe });
        const effect = await effectOn(number, universe, signal.unconstrained);
        const previous = await previousEraWithRun(number);
        const previousRun = previous === null ? null : await latestRun(previous);
        const before = previous === null || previousRun === null ? null : await effectOn(previous, await eras.universeRows(previous), decodeFloat64(previousRun.unconstrained));
        const { sectorExposure, unconstrainedExposure, sectorTilt, spearman, value, ...counts } = effect;
        const eraTargets = await latestTargets(db, number);
        const withoutEach = eraTargets.length === 0 ? [] : leaveOneOutValues(policy.document, universe, signal.unconstrained);
        results.push({
          era: number,
          run: signal.run,
          provisional: signal.provisional,
          ...counts,
          sectorTilt: sectorTilt.map((s) => ({ ...s, before: finiteOrNull(s.before), after: finiteOrNull(s.after) })),
          spearman: finiteOrNull(spearman),
          exposures: (({ unconstrained, traded }) => ({ before: unconstrained, after: traded }))(exposuresOf(signal.unconstrained, value, universe)),
          performanceCost: eraTargets.map((t) => ({ target: t.name, ...policyCost(signal.unconstrained, value, withoutEach, decodeFloat64(t.values)) })),
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
      const warnings: PolicyWarning[] = policyWarnings(policy.document, universeVocabulary(universes));
      return { policy: { id: policy.id, name: policy.name, version: policy.version, mode: policy.mode }, warnings, eras: results };
    },
  };
}

interface PolicyRef {
  id: string;
  name: string;
  version: number;
}

const ref = (p: PolicyView): PolicyRef => ({ id: p.id, name: p.name, version: p.version });

export type PoliciesService = ReturnType<typeof policiesService>;
