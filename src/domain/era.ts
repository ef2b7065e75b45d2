import type { PayoutParams } from './scoring.js';

/** An era's life, in order, as the API reports it. */
export const ERA_STATUSES = ['scheduled', 'open', 'closed', 'resolved'] as const;
export type EraStatus = (typeof ERA_STATUSES)[number];

/** The moments an era's status follows from (an era row has them). */
export interface EraClock {
  opensAt: Date;
  closesAt: Date;
  closedAt: Date | null;
  resolvedAt: Date | null;
}

/** The clock (given: the domain reads none) and the closing decide: an era past closesAt is closed even before the scheduler runs. */
export function eraStatus(era: EraClock, now: Date): EraStatus {
  if (era.resolvedAt) return 'resolved';
  if (era.closedAt || now >= era.closesAt) return 'closed';
  if (now < era.opensAt) return 'scheduled';
  return 'open';
}

/** The payout parameters as an era row stores them: exact decimal strings (numeric columns). */
export type StoredPayoutParams = { [K in keyof PayoutParams]: string };

export function payoutParams(era: StoredPayoutParams): PayoutParams {
  return {
    corrMultiplier: Number(era.corrMultiplier),
    mmcMultiplier: Number(era.mmcMultiplier),
    clip: Number(era.clip),
    stakeThreshold: Number(era.stakeThreshold),
  };
}
