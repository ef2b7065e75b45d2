import { z } from 'zod';

const exposure = z
  .object({
    long: z.number().nullable().describe('weighted mean of the attribute over the long leg (weights w > 0); null under 5 covered ids'),
    short: z.number().nullable().describe('the same over the short leg, weights |w|'),
    net: z.number().nullable().describe('Σ w·a / Σ |w| over the ids with the attribute'),
    coverage: z.number().describe('share of the book’s gross weight on ids with the attribute'),
    universe: z.number().describe('plain mean of the attribute over the universe ids that have it'),
  })
  .meta({ id: 'Exposure' });

/** Exposures (docs/reports.md): the book w = (r − mean r) / Σ|r − mean r| of the signal's tie-kept rank r. */
export const signalExposures = z
  .object({
    attributes: z.record(z.string(), exposure).describe('every numeric attribute at least 5 ids have'),
    tags: z.record(z.string(), exposure).describe('every tag at least 5 ids carry, as the attribute 1 (carries it) or 0'),
  })
  .meta({ id: 'SignalExposures' });

export const policyCostSchema = z.object({
  target: z.string(),
  unconstrained: z.number().nullable().describe('numerai_corr of the tie-kept rank of M over the universe against the target'),
  traded: z.number().nullable().describe('numerai_corr of the published value over the tradable ids'),
  cost: z.number().nullable().describe('unconstrained − traded'),
  byRule: z
    .array(z.object({ ruleId: z.string(), cost: z.number().nullable().describe('traded without this rule (all else the same) − traded') }))
    .describe('every rule, and neutralize:<field> / groupCap:<field> for those steps; empty unless the policy was enforced'),
});
