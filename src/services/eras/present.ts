import { createHash } from 'node:crypto';
import type { EraRow } from '../../db/eras.js';
import { eraStatus, payoutParams } from '../../domain/era.js';

/** An era as the API shows it, its status as of `now`. */
export function presentEra(era: EraRow, now: Date) {
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

export function universeDigest(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}
