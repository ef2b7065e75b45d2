import { z } from 'zod';
import type { PayoutParams } from '../../../domain/scoring.js';
import { eraStatus } from '../../schemas.js';

/** What each payout parameter does (docs/scoring-and-payouts.md has the formulas). */
export const PAYOUT_DOCS = {
  corrMultiplier: 'Weight of CORR in the payout score (default 0.5).',
  mmcMultiplier: 'Weight of MMC in the payout score (default 2).',
  clip: 'Largest share of its at-risk stake a model can win or lose in this era (default 0.05, i.e. ±5 %).',
  stakeThreshold:
    'Total at-risk stake above which payouts are scaled down: payout factor pf = min(1, stakeThreshold / Σ at-risk stakes) (default 72000).',
} as const satisfies Record<keyof PayoutParams, string>;
export const PAYOUT_DESCRIPTION =
  "How a model's stake moves when the era resolves, on its main target: payout = stake × clip(pf × (corrMultiplier × CORR + mmcMultiplier × MMC), −clip, +clip), with pf = min(1, stakeThreshold / Σ at-risk stakes). A positive payout is added to the stake, a negative one burned from it.";

/** The era's payout parameters as served: the domain's PayoutParams, field for field. */
export const payoutParams = z.object({
  corrMultiplier: z.number().describe(PAYOUT_DOCS.corrMultiplier),
  mmcMultiplier: z.number().describe(PAYOUT_DOCS.mmcMultiplier),
  clip: z.number().describe(PAYOUT_DOCS.clip),
  stakeThreshold: z.number().describe(PAYOUT_DOCS.stakeThreshold),
} satisfies Record<keyof PayoutParams, z.ZodNumber>);

const payout = payoutParams.describe(PAYOUT_DESCRIPTION);

export const era = z
  .object({
    number: z.number().int(),
    status: eraStatus,
    opensAt: z.date(),
    closesAt: z.date(),
    closedAt: z.date().nullable(),
    resolvedAt: z.date().nullable(),
    mainTarget: z.string(),
    minCoverage: z.number(),
    payout,
    universeSize: z.number().int(),
    createdAt: z.date(),
  })
  .meta({ id: 'Era' });
