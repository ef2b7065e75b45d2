import { diffPolicies } from './diff.js';
import { parsePolicy } from './parse.js';
import type { PolicyDocument } from './schema.js';

/**
 * Which policy version is in force for which eras, decided from the activations alone: the rules
 * the policies service applies to what the data-access layer reads.
 */

/** An activation that has not been cancelled, with its version. */
export interface ActivationRow {
  id: number;
  policyId: string;
  name: string;
  version: number;
  document: unknown;
  fromEra: number;
  scheduled: boolean;
  activatedAt: Date;
  activatedBy: { id: string; name: string } | null;
  reason: string;
}

/** A stored version with its author, as listed. */
export interface PolicySummary {
  id: string;
  name: string;
  version: number;
  document: unknown;
  createdAt: Date;
  authorId: string;
  authorName: string;
  /** set when an admin rejected the draft: it can then be neither activated nor withdrawn */
  rejection: { at: Date; reason: string; by: { id: string; name: string } } | null;
}

export const POLICY_STATUSES = ['draft', 'scheduled', 'active', 'retired', 'rejected'] as const;
export type PolicyStatus = (typeof POLICY_STATUSES)[number];

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

/**
 * Not in force yet: from an era after the opening one, or named explicitly (`fromEra`) for the
 * opening era, which has not closed: scheduled until the first era it governs closes. An
 * activation at once governs the opening era and is in force from its approval.
 */
export function isPending(activation: Pick<ActivationRow, 'fromEra' | 'scheduled'>, opening: number): boolean {
  return activation.fromEra > opening || (activation.fromEra === opening && activation.scheduled);
}

/** `activations`: every one not cancelled, in the order they take force. */
export function activationStateOf(opening: number, activations: ActivationRow[]): ActivationState {
  const current = activations.filter((a) => !isPending(a, opening)).at(-1) ?? null;
  const upcoming = activations.filter((a) => isPending(a, opening)).at(-1) ?? null;
  return { opening, activations, current, upcoming };
}

/** Stored documents were validated on the way in and cannot change (trigger); a failure here is a bug. */
export function storedDocument(document: unknown): PolicyDocument {
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(`stored policy document is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.policy;
}

export function policyStatus(policyId: string, state: ActivationState): PolicyStatus {
  if (state.current?.policyId === policyId) return 'active';
  if (state.upcoming?.policyId === policyId) return 'scheduled';
  return state.activations.some((a) => a.policyId === policyId && !isPending(a, state.opening)) ? 'retired' : 'draft';
}

/** The activation that replaced a version's last one to take force, if one has taken force since. */
export function replacedBy(policyId: string, state: ActivationState): ActivationRow | null {
  const index = state.activations.findLastIndex((a) => a.policyId === policyId && !isPending(a, state.opening));
  const next = index < 0 ? undefined : state.activations.slice(index + 1).find((a) => !isPending(a, state.opening));
  return next ?? null;
}

/**
 * When an activation took force: its approval, or if later the cutoff of the era before its
 * fromEra (`cutoffBefore`, null when there is none).
 */
export function tookForceAt(activation: ActivationRow, cutoffBefore: Date | null): Date {
  return cutoffBefore !== null && cutoffBefore > activation.activatedAt ? cutoffBefore : activation.activatedAt;
}

/** A version as listed: its status and latest activation; `retiredAt` when its successor took force. */
export function policyView(row: PolicySummary, state: ActivationState, retiredAt: Date | null) {
  const document = storedDocument(row.document);
  const latest = state.activations.filter((a) => a.policyId === row.id).at(-1) ?? null;
  // A rejected draft never gets an activation (activate refuses it), so its rejection is its status.
  const status = row.rejection !== null ? ('rejected' as const) : policyStatus(row.id, state);
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
    rejection: row.rejection,
    document,
  };
}

export type PolicyView = ReturnType<typeof policyView>;

export type ActivationPlan =
  | { ok: true; from: number; scheduled: boolean; replaced: ActivationRow | null }
  | { ok: false; reason: 'past' }
  | { ok: false; reason: 'in-force'; current: ActivationRow };

/**
 * An activation of `policyId` at once (no `fromEra`) or from a named era: refused for an era whose
 * cutoff has passed, and when the version is already in force with nothing scheduled (nothing
 * would change). At once, it replaces the version in force; from a named era, even the opening
 * one, it is scheduled until that era closes and replaces none yet.
 */
export function planActivation(state: ActivationState, policyId: string, fromEra?: number): ActivationPlan {
  if (fromEra !== undefined && fromEra < state.opening) return { ok: false, reason: 'past' };
  const from = fromEra ?? state.opening;
  if (state.current?.policyId === policyId && state.upcoming === null && from === state.opening) {
    return { ok: false, reason: 'in-force', current: state.current };
  }
  const scheduled = fromEra !== undefined;
  return { ok: true, from, scheduled, replaced: scheduled ? null : state.current };
}

/**
 * Every activation that took force or is scheduled, oldest first, with the eras it covers and
 * what it changed against the version in force before it. Names no account. The range speaks of
 * closed eras: `toEra` is the last era closed under a version its successor has replaced, null
 * while it is in force or scheduled.
 */
export function changelogOf(state: ActivationState) {
  const entries = [];
  let previous: PolicyDocument | null = null;
  for (const [i, a] of state.activations.entries()) {
    const document = storedDocument(a.document);
    const next = state.activations[i + 1];
    const toEra = next === undefined || isPending(next, state.opening) ? null : next.fromEra - 1;
    const change = diffPolicies(previous, document);
    entries.push({
      name: a.name,
      version: a.version,
      status: a === state.current ? ('active' as const) : isPending(a, state.opening) ? ('scheduled' as const) : ('retired' as const),
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
}
