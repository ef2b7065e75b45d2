import { z } from 'zod';
import { decimalString } from '../../schemas.js';

/** Shapes both report routes answer with. */

export const share = z.number().min(0).max(1);
export const chainDigest = z
  .string()
  .nullable()
  .describe("the era's link in the chain of resolved eras: SHA-256(previous era's chainDigest ‖ bundle digest), as GET /v1/eras/{number}/bundle carries it; null until the era resolves");

export const stake = z
  .object({
    models: z.number().int().describe('models with at-risk stake > 0'),
    total: decimalString.describe('Σ at-risk stake, exact'),
    gini: z.number().nullable().describe('ΣΣ|π_i − π_j| / 2K over the stake shares π'),
    nakamoto50: z.number().int().describe('fewest models holding ≥ 50 % of the stake'),
    effectiveModels: z.number().describe('1 / Σ π²'),
    top10Share: z.number().nullable().describe('share held by the 10 largest stakes'),
  })
  .meta({ id: 'StakeConcentration' });

/** Spearman of the traded signal with the unconstrained one over the tradable ids (1: the policy changed no ranks). */
export const policySpearman = z
  .number()
  .nullable()
  .describe('Spearman correlation of the traded signal with the unconstrained one over the tradable ids (1: the policy changed no ranks)');

/** The same number under its first name, kept for one release. */
export const deprecatedPolicyCost = z
  .number()
  .nullable()
  .meta({
    deprecated: true,
    description:
      'Deprecated: use policySpearman, the same number. It is a Spearman correlation (1: no change), not a cost like performanceCost[].cost (a CORR difference); this field is removed in the next release.',
  });
