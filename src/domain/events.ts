import { z } from 'zod';
import { fromUnits } from './decimal.js';

/**
 * The events the service publishes (docs/events.md): their types, who may see each, and the shape
 * of each payload's `data`. Era and policy events go to every account; model events only to the
 * model's owner. Pure: the data layer writes what these builders return.
 */

export const ACCOUNT_WIDE_EVENTS = ['era.opened', 'era.closed', 'era.scored', 'era.resolved', 'policy.scheduled', 'policy.activated'] as const;
export const OWNER_EVENTS = ['submission.received', 'model.settled', 'stake.released'] as const;
export const EVENT_TYPES = [...ACCOUNT_WIDE_EVENTS, ...OWNER_EVENTS] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const eventType = z.enum(EVENT_TYPES);

/** An event to write: `modelId` null for an event every account sees, else the model whose owner alone sees it. */
export interface NewEvent {
  type: EventType;
  modelId: string | null;
  data: Record<string, unknown>;
}

/** The body of a webhook delivery and the `data:` of a stream frame. */
export interface EventEnvelope {
  type: string;
  timestamp: string;
  data: unknown;
}

export function envelope(type: string, createdAt: Date, data: unknown): EventEnvelope {
  return { type, timestamp: createdAt.toISOString(), data };
}

export const eraOpened = (era: { number: number; opensAt: Date; closesAt: Date }): NewEvent => ({
  type: 'era.opened',
  modelId: null,
  data: { era: era.number, opensAt: era.opensAt.toISOString(), closesAt: era.closesAt.toISOString() },
});

export const eraClosed = (era: { number: number; closedAt: Date | null }, run: { id: string; models: number; totalStake: string }): NewEvent => ({
  type: 'era.closed',
  modelId: null,
  data: { era: era.number, closedAt: era.closedAt?.toISOString() ?? null, run: { id: run.id, models: run.models, totalStake: run.totalStake } },
});

export const eraScored = (era: number, targets: readonly { name: string; version: number }[]): NewEvent => ({
  type: 'era.scored',
  modelId: null,
  data: { era, targets: targets.map((t) => ({ target: t.name, version: t.version })) },
});

export const eraResolved = (era: number, totalPayout: string, chainDigest: string): NewEvent => ({
  type: 'era.resolved',
  modelId: null,
  data: { era, totalPayout, chainDigest },
});

export const policyActivated = (p: { id: string; name: string; version: number; fromEra: number; status: 'active' | 'scheduled' }): NewEvent => ({
  type: p.status === 'scheduled' ? 'policy.scheduled' : 'policy.activated',
  modelId: null,
  data: { id: p.id, name: p.name, version: p.version, fromEra: p.fromEra },
});

/** What ledger entries tell their owners: a settlement at resolution (payout or burn), or a release leaving the model. */
export function ledgerEvents(written: readonly { modelId: string; entry: { kind: string; era: number | null; delta: bigint; balance: bigint } }[]): NewEvent[] {
  return written.flatMap(({ modelId, entry }): NewEvent[] => {
    if ((entry.kind === 'payout' || entry.kind === 'burn') && entry.era !== null) {
      return [{ type: 'model.settled', modelId, data: { era: entry.era, modelId, payout: fromUnits(entry.delta), balance: fromUnits(entry.balance) } }];
    }
    if (entry.kind === 'released') return [{ type: 'stake.released', modelId, data: { modelId, amount: fromUnits(-entry.delta) } }];
    return [];
  });
}

/** Standard Webhooks: the secret's bytes are the base64 after `whsec_`; the signed content is id.timestamp.body. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export function signedContent(id: string, timestampSeconds: number, body: string): string {
  return `${id}.${timestampSeconds}.${body}`;
}

/**
 * The delay before retry n (1-based) from the schedule, with ±10 % jitter (`unit` in [0, 1)),
 * or null when the schedule is spent and the delivery fails.
 */
export function retryDelayMs(scheduleMs: readonly number[], attemptsMade: number, unit: number): number | null {
  const base = scheduleMs[attemptsMade - 1];
  if (base === undefined) return null;
  return Math.round(base * (0.9 + 0.2 * unit));
}

/** Standard Webhooks' retry schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;

/** What announcing eras found: the eras just marked opened and the scheduled activations taking force with them. */
export interface Openings {
  eras: { number: number; opensAt: Date; closesAt: Date }[];
  activations: { id: string; name: string; version: number; fromEra: number }[];
}

/** era.opened for each era announced, then policy.activated for each activation taking force with them. */
export const openingEvents = (openings: Openings): NewEvent[] => [
  ...openings.eras.map(eraOpened),
  ...openings.activations.map((a) => policyActivated({ ...a, status: 'active' })),
];
