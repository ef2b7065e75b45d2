import type { Config } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import { accountStatusShared } from '../db/accounts.js';
import { emitEvents } from '../db/events.js';
import { policiesDal } from '../db/policies.js';
import { policyActivated } from '../domain/events.js';
import { latestEraWithRun, latestRun, previousEraWithRun } from '../db/runs.js';
import { latestResolvedEras } from '../db/eras.js';
import { latestTarget, latestTargets } from '../db/targets.js';
import { replayEra, replaySummary, type ReplayedEra } from '../domain/policy/replay.js';
import {
  activationStateOf,
  changelogOf,
  isPending,
  planActivation,
  policyView,
  replacedBy,
  storedDocument,
  tookForceAt,
  type ActivationRow,
  type ActivationState,
  type PolicyView,
} from '../domain/policy/activation.js';
import { diffPolicies, type PolicyDiff } from '../domain/policy/diff.js';
import { eraPreview, type PreviewSignal } from '../domain/policy/era-preview.js';
import { enforcePolicy, parsePolicy, type PolicyDocument } from '../domain/policy/index.js';
import { policyEffect, type EraPolicyEffect } from '../domain/policy/preview.js';
import { conflictWarnings, policyWarnings, universeVocabulary, type PolicyWarning } from '../domain/policy/warnings.js';
import { decodeFloat64 } from '../domain/packed.js';
import type { UniverseRow } from '../domain/universe.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';
import { eraStatus } from '../domain/era.js';
import type { ErasService } from './eras.js';
import type { PolicyInForce, PolicyRef } from '../domain/policy/apply-to-run.js';

export type { PolicyRow } from '../db/policies.js';
export { storedDocument, type ActivationState, type PolicyStatus, type PolicyView } from '../domain/policy/activation.js';

/** A version as the meta-model step applies it. */
export type PolicyVersion = PolicyInForce;

/** How many of the latest universes a new policy is checked against. */
const RECENT_UNIVERSES = 3;

export async function activationState(executor: Executor): Promise<ActivationState> {
  const dal = policiesDal(executor);
  const opening = await dal.openingEra();
  return activationStateOf(opening, await dal.activations());
}

/** The version in force for an era (the activations table), or null when none was activated for it. */
export async function versionForEra(era: number, executor: Executor): Promise<PolicyVersion | null> {
  const row = await policiesDal(executor).versionForEra(era);
  return row === null ? null : { id: row.id, name: row.name, version: row.version, document: storedDocument(row.document) };
}

/** A provisional meta-model of an open era: the submissions and stakes so far, as a close would take them now. */
export type OpenEraMetaModel = (era: number) => Promise<{ unconstrained: Float64Array; models: number }>;

export function policiesService(db: Database, audit: AuditService, eras: ErasService, config: Pick<Config, 'POLICY_FOUR_EYES'>, openEraMetaModel: OpenEraMetaModel) {
  /** When the version that replaced `policyId` took force, if one has. */
  async function retiredAt(policyId: string, state: ActivationState, executor: Executor): Promise<Date | null> {
    const next = replacedBy(policyId, state);
    return next === null ? null : tookForceAt(next, await policiesDal(executor).cutoffBefore(next.fromEra));
  }

  async function get(id: string, executor: Executor = db): Promise<PolicyView> {
    const row = await policiesDal(executor).summary(id);
    if (!row) throw notFound(`policy ${id} does not exist`);
    const state = await activationState(executor);
    return policyView(row, state, await retiredAt(id, state, executor));
  }

  /** The universes of the latest eras that have one, newest first. */
  async function recentUniverses(count = RECENT_UNIVERSES): Promise<{ era: number; rows: UniverseRow[] }[]> {
    const recent = await policiesDal(db).erasWithUniverse(count);
    return Promise.all(recent.map(async (number) => ({ era: number, rows: await eras.universeRows(number) })));
  }

  /** The closed era's latest run, or for an open era the submissions so far (provisional). */
  async function eraSignal(number: number): Promise<{ missing: number } | { problem: string } | PreviewSignal> {
    const era = await eras.get(number).catch((error: unknown) => {
      if (error instanceof AppError && error.status === 404) return null;
      throw error;
    });
    if (era === null) return { missing: number } as const;
    const status = eraStatus(era, new Date());
    if (status === 'scheduled') return { problem: `era ${number} has not opened yet; preview needs submissions` } as const;
    if (!era.universeDigest) return { problem: `era ${number} has no universe yet` } as const;
    if (status === 'open' || !era.closedAt) {
      const provisional = await openEraMetaModel(number);
      if (provisional.models === 0) return { problem: `era ${number} is open but has no staked on-time submission yet` } as const;
      return { era: number, run: null, provisional: { models: provisional.models }, unconstrained: provisional.unconstrained } as const;
    }
    const run = await latestRun(db, number);
    if (!run) return { problem: `era ${number} is closed but has no meta-model run yet` } as const;
    return { era: number, run: { id: run.id, seq: run.seq }, provisional: null, unconstrained: decodeFloat64(run.unconstrained) } as const;
  }

  /**
   * Whether a document leaves something to order on the eras it would meet first: every open era
   * with a universe and a staked on-time submission (on its provisional meta-model) and the latest
   * era with a run. Eras without a signal yet are not checked. The first conflict found, or null.
   */
  async function activationConflict(document: PolicyDocument): Promise<{ era: number; message: string } | null> {
    const candidates = new Set(await policiesDal(db).openErasWithUniverse());
    const latest = await latestEraWithRun(db);
    if (latest !== null) candidates.add(latest);
    for (const number of [...candidates].sort((a, b) => a - b)) {
      const signal = await eraSignal(number);
      if (!('unconstrained' in signal)) continue;
      const conflict = enforcePolicy(document, await eras.universeRows(number), signal.unconstrained).constraints?.conflict ?? null;
      if (conflict !== null) return { era: number, message: conflict.message };
    }
    return null;
  }

  return {
    get,

    /** A new draft; its version is one more than the latest of that name, serialised per name. Warns about what no recent universe has. */
    async create(who: Principal, input: unknown) {
      const parsed = parsePolicy(input);
      if (!parsed.ok) {
        throw badRequest(`the policy document has ${parsed.problems.length} problem(s)`, parsed.problems);
      }
      const document = parsed.policy;
      const warnings = policyWarnings(document, universeVocabulary(await recentUniverses()));
      const created = await db.transaction(async (tx) => {
        const dal = policiesDal(tx);
        await dal.lockName(document.name);
        const version = ((await dal.latestVersion(document.name)) ?? 0) + 1;
        const row = await dal.insertVersion({ name: document.name, version, document, authorId: who.accountId });
        await audit.record(tx, {
          actor: who,
          action: 'policy.create',
          subject: `policy:${row.id}`,
          details: { name: row.name, version, document },
        });
        return row;
      });
      return { ...created, status: 'draft' as const, warnings };
    },

    async list(filter: { name?: string } = {}): Promise<PolicyView[]> {
      const rows = await policiesDal(db).summaries(filter);
      const state = await activationState(db);
      return Promise.all(rows.map(async (row) => policyView(row, state, await retiredAt(row.id, state, db))));
    },

    /**
     * Puts a version in force at once (from the first era whose cutoff has not passed) or from a
     * named later era (scheduled). A later activation cancels a schedule that has not taken force.
     * Activating the version already in force, with nothing scheduled, is a 409: nothing would change.
     * So is a version whose constraints leave nothing to order on the eras it would meet first
     * (activationConflict), checked before the activations lock: it may compute provisional
     * meta-models, and closes wait on that lock.
     */
    async activate(who: Principal, id: string, reason: string, fromEra?: number) {
      // A version's author and document never change, so these two are checked before the lock.
      const candidate = await get(id);
      if (candidate.rejection !== null) throw rejectedConflict({ ...candidate, rejection: candidate.rejection });
      if (config.POLICY_FOUR_EYES && candidate.author.id === who.accountId) {
        throw forbidden(`four-eyes rule: ${candidate.name} v${candidate.version} was written by you; another admin must activate it`);
      }
      const refused = await activationConflict(candidate.document);
      if (refused !== null) {
        throw conflict(`${candidate.name} v${candidate.version} cannot be activated: on era ${refused.era}, ${refused.message} (preview the version for details)`);
      }
      return db.transaction(async (tx) => {
        const dal = policiesDal(tx);
        await dal.lockActivations('exclusive');
        // The approver stays active through the approval: a disabling in flight refuses it or waits for it.
        if ((await accountStatusShared(tx, who.accountId)) !== 'active') throw forbidden('your account is no longer active; it cannot approve a policy');
        const target = await dal.byId(id);
        if (!target) throw notFound(`policy ${id} does not exist`);
        // Rejections take the same lock: one that committed first is seen here.
        const rejected = await dal.summary(id);
        if (rejected?.rejection) throw rejectedConflict({ name: target.name, version: target.version, rejection: rejected.rejection });
        const state = await activationState(tx);
        const plan = planActivation(state, id, fromEra);
        if (!plan.ok && plan.reason === 'past') {
          throw conflict(`era ${fromEra} has closed or is past its closesAt; fromEra must be ${state.opening} or later (or omit it to activate at once)`);
        }
        if (!plan.ok) {
          throw conflict(`${target.name} v${target.version} is already in force (since ${plan.current.activatedAt.toISOString()}, from era ${plan.current.fromEra})`);
        }
        const { from, scheduled, replaced } = plan;
        const activation = await dal.insertActivation({ policyId: id, fromEra: from, scheduled: fromEra !== undefined, activatedBy: who.accountId, reason });
        // A later activation replaces every schedule that has not taken force.
        const pending = state.activations.filter((a) => isPending(a, state.opening)).map((a) => a.id);
        const cancelled = await dal.cancelActivations(pending, activation.id);
        if (replaced !== null && replaced.policyId !== id) {
          await audit.record(tx, {
            actor: who,
            action: 'policy.retire',
            subject: `policy:${replaced.policyId}`,
            reason,
            details: { name: replaced.name, version: replaced.version, replacedBy: id, fromEra: from },
          });
        }
        await audit.record(tx, {
          actor: who,
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
        await emitEvents(tx, [policyActivated({ id, name: target.name, version: target.version, fromEra: from, status: scheduled ? 'scheduled' : 'active' })]);
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

    /**
     * Its author withdraws a draft: the version is deleted, so when it was the latest of its name
     * the next draft of that name takes its number again. A version that was ever activated or
     * scheduled (even a cancelled schedule), that a run used, or that was rejected stays: 409.
     * Serialised with activations, rejections and numbering by their locks.
     */
    async withdraw(who: Principal, id: string) {
      const before = await get(id);
      if (before.author.id !== who.accountId) {
        throw forbidden(`only the author of ${before.name} v${before.version} (${before.author.name}) may withdraw it; another admin may reject it instead`);
      }
      await db.transaction(async (tx) => {
        const dal = policiesDal(tx);
        await dal.lockName(before.name);
        await dal.lockActivations('exclusive');
        const current = await get(id, tx);
        if (current.status !== 'draft' || (await dal.hasHistory(id))) {
          const why = current.status === 'rejected' ? 'it was rejected' : current.status === 'draft' ? 'it was scheduled once and stays in the history' : `it is ${current.status}`;
          throw conflict(`${current.name} v${current.version} cannot be withdrawn: ${why}; only a draft that never took part in the history can`);
        }
        await dal.deleteVersion(id);
        await audit.record(tx, {
          actor: who,
          action: 'policy.withdraw',
          subject: `policy:${id}`,
          details: { name: current.name, version: current.version },
        });
      });
    },

    /** An admin other than the author turns a draft down, with a reason: it can no longer be activated or withdrawn. */
    async reject(who: Principal, id: string, reason: string) {
      const before = await get(id);
      if (before.author.id === who.accountId) {
        throw forbidden(`${before.name} v${before.version} was written by you; withdraw it (DELETE /v1/policies/${id}) instead of rejecting it`);
      }
      return db.transaction(async (tx) => {
        const dal = policiesDal(tx);
        await dal.lockActivations('exclusive');
        if ((await accountStatusShared(tx, who.accountId)) !== 'active') throw forbidden('your account is no longer active; it cannot reject a policy');
        const current = await get(id, tx);
        if (current.status !== 'draft') {
          throw conflict(`${current.name} v${current.version} is ${current.status}; only a draft can be rejected`);
        }
        await dal.insertRejection({ policyId: id, rejectedBy: who.accountId, reason });
        await audit.record(tx, {
          actor: who,
          action: 'policy.reject',
          subject: `policy:${id}`,
          reason,
          details: { name: current.name, version: current.version },
        });
        return { id, status: 'rejected' as const };
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
      return changelogOf(await activationState(db));
    },

    /** Fields and values of a document that no recent universe has (also part of create's reply). */
    async warnings(document: PolicyDocument) {
      return policyWarnings(document, universeVocabulary(await recentUniverses()));
    },

    /**
     * What a version (enforced, also when its mode is shadow) would have cost on each of the last
     * `lastEras` resolved eras, oldest first: on the era's latest run (the one its report costs) and
     * the latest version of its main target. An era missing its run or main target is skipped.
     */
    async replay(id: string, lastEras: number) {
      const policy = await get(id);
      const resolved = await latestResolvedEras(db, lastEras);
      const replayed: ReplayedEra[] = [];
      for (const era of resolved.reverse()) {
        const run = await latestRun(db, era.number);
        const target = await latestTarget(db, era.number, era.mainTarget);
        if (run === null || target === undefined) continue;
        const universe = await eras.universeRows(era.number);
        replayed.push(replayEra(policy.document, { number: era.number, target: era.mainTarget }, universe, decodeFloat64(run.unconstrained), decodeFloat64(target.values)));
      }
      return { policy: ref(policy), eras: replayed, summary: replaySummary(replayed) };
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
        const previous = await previousEraWithRun(db, number);
        const previousRun = previous === null ? null : await latestRun(db, previous);
        const before = previous === null || previousRun === null ? null : await effectOn(previous, await eras.universeRows(previous), decodeFloat64(previousRun.unconstrained));
        const eraTargets = await latestTargets(db, number);
        const targets = eraTargets.map((t) => ({ name: t.name, values: decodeFloat64(t.values) }));
        results.push(eraPreview(policy.document, signal, universe, effect, previous === null || before === null ? null : { era: previous, effect: before }, targets));
      }
      const warnings: PolicyWarning[] = [
        ...policyWarnings(policy.document, universeVocabulary(universes)),
        ...conflictWarnings(results.map((r) => ({ era: r.era, conflict: effects.get(r.era)!.conflict }))),
      ];
      return { policy: { id: policy.id, name: policy.name, version: policy.version, mode: policy.mode }, warnings, eras: results };
    },
  };
}

const rejectedConflict = (p: { name: string; version: number; rejection: { reason: string; by: { name: string } } }) =>
  conflict(`${p.name} v${p.version} was rejected by ${p.rejection.by.name} ("${p.rejection.reason}") and cannot be activated; create a new version instead`);

const ref = (p: PolicyView): PolicyRef => ({ id: p.id, name: p.name, version: p.version });

export type PoliciesService = ReturnType<typeof policiesService>;
