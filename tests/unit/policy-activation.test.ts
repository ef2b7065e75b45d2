import { describe, expect, it } from 'vitest';
import {
  activationStateOf,
  changelogOf,
  planActivation,
  policyStatus,
  replacedBy,
  tookForceAt,
  type ActivationRow,
} from '../../src/domain/policy/activation.js';

let nextId = 1;
function activation(policyId: string, fromEra: number, activatedAt = new Date('2026-01-01T00:00:00Z'), rules: unknown[] = []): ActivationRow {
  return {
    id: nextId++,
    policyId,
    name: 'core',
    version: Number(policyId.slice(1)),
    document: { name: 'core', rules },
    fromEra,
    scheduled: false,
    activatedAt,
    activatedBy: null,
    reason: `activate ${policyId}`,
  };
}

describe('which version is in force', () => {
  it('the last activation from the opening era or before is current, a later one upcoming', () => {
    const state = activationStateOf(5, [activation('p1', 0), activation('p2', 3), activation('p3', 8)]);
    expect(state.current?.policyId).toBe('p2');
    expect(state.upcoming?.policyId).toBe('p3');
    expect(policyStatus('p1', state)).toBe('retired');
    expect(policyStatus('p2', state)).toBe('active');
    expect(policyStatus('p3', state)).toBe('scheduled');
    expect(policyStatus('p9', state)).toBe('draft');
    expect(replacedBy('p1', state)?.policyId).toBe('p2');
    expect(replacedBy('p2', state)).toBeNull();
  });

  it('a replaced version took force at the later of its successor approval and the cutoff before its first era', () => {
    const approved = new Date('2026-02-01T00:00:00Z');
    const next = activation('p2', 4, approved);
    expect(tookForceAt(next, null)).toBe(approved);
    expect(tookForceAt(next, new Date('2026-01-15T00:00:00Z'))).toBe(approved);
    expect(tookForceAt(next, new Date('2026-03-01T00:00:00Z'))).toEqual(new Date('2026-03-01T00:00:00Z'));
  });

  it('an activation named for the opening era is scheduled until that era closes; one at once is in force', () => {
    const named = { ...activation('p2', 5), scheduled: true };
    const state = activationStateOf(5, [activation('p1', 0), named]);
    expect(state.current?.policyId).toBe('p1');
    expect(state.upcoming?.policyId).toBe('p2');
    expect(policyStatus('p2', state)).toBe('scheduled');
    expect(changelogOf(state).entries.map((e) => [e.version, e.status, e.fromEra, e.toEra])).toEqual([
      [1, 'active', 0, null],
      [2, 'scheduled', 5, null],
    ]);
    // Once era 5 closes it is in force, and era 5 is the first closed under it.
    const later = activationStateOf(6, [activation('p1', 0), named]);
    expect(policyStatus('p2', later)).toBe('active');
    expect(changelogOf(later).entries.map((e) => [e.version, e.status, e.fromEra, e.toEra])).toEqual([
      [1, 'retired', 0, 4],
      [2, 'active', 5, null],
    ]);
    const atOnce = activationStateOf(5, [activation('p1', 0), activation('p2', 5)]);
    expect(policyStatus('p2', atOnce)).toBe('active');
  });
});

describe('planning an activation', () => {
  const state = activationStateOf(5, [activation('p1', 0)]);

  it('at once replaces the version in force from the opening era', () => {
    expect(planActivation(state, 'p2')).toMatchObject({ ok: true, from: 5, scheduled: false, replaced: { policyId: 'p1' } });
  });

  it('from a later era is scheduled and replaces nothing yet', () => {
    expect(planActivation(state, 'p2', 7)).toEqual({ ok: true, from: 7, scheduled: true, replaced: null });
  });

  it('from the opening era named explicitly is scheduled too, until that era closes', () => {
    expect(planActivation(state, 'p2', 5)).toEqual({ ok: true, from: 5, scheduled: true, replaced: null });
  });

  it('refuses an era whose cutoff has passed, and the version already in force with nothing scheduled', () => {
    expect(planActivation(state, 'p2', 4)).toEqual({ ok: false, reason: 'past' });
    expect(planActivation(state, 'p1')).toMatchObject({ ok: false, reason: 'in-force', current: { policyId: 'p1' } });
    const scheduled = activationStateOf(5, [activation('p1', 0), activation('p2', 9)]);
    expect(planActivation(scheduled, 'p1')).toMatchObject({ ok: true, from: 5, scheduled: false });
  });
});

describe('the changelog', () => {
  it('gives each activation its eras and marks one replaced before its first era closed', () => {
    const rule = { id: 'tobacco', match: { field: 'tags', op: 'contains', value: 'tobacco' }, action: { type: 'exclude' } };
    const state = activationStateOf(6, [activation('p1', 0), activation('p2', 4, undefined, [rule]), activation('p3', 4), activation('p4', 9)]);
    const { nextEra, entries } = changelogOf(state);
    expect(nextEra).toBe(6);
    expect(entries.map((e) => [e.version, e.status, e.fromEra, e.toEra, e.coversNoEra])).toEqual([
      [1, 'retired', 0, 3, false],
      [2, 'retired', 4, 3, true],
      // In force, with a successor scheduled: its range is open until that successor takes force.
      [3, 'active', 4, null, false],
      [4, 'scheduled', 9, null, false],
    ]);
    expect(entries[1].rules.added.map((r) => r.id)).toEqual(['tobacco']);
    expect(entries[2].rules.removed.map((r) => r.id)).toEqual(['tobacco']);
  });
});
