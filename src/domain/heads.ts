import { z } from 'zod';

/**
 * The heads of the two hash chains (era bundles and the audit log) as published: how many links
 * each holds and the chain digest of its last one. A reader keeps an answer and later checks
 * that the chains then still extend it, so removing or rewriting history shows.
 */

export const CHAINS = ['bundles', 'audit'] as const;
export type Chain = (typeof CHAINS)[number];

const digest = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest: 64 lowercase hex digits');

export const chainHeadSchema = z
  .object({
    count: z.number().int().min(0).describe('links in the chain'),
    chainDigest: digest.nullable().describe('the chain digest of the last link; null while the chain is empty'),
  })
  .refine((head) => (head.count === 0) === (head.chainDigest === null), 'chainDigest is null exactly when count is 0');
export type ChainHead = z.infer<typeof chainHeadSchema>;

export const headsSchema = z.object({ bundles: chainHeadSchema, audit: chainHeadSchema });
export type Heads = z.infer<typeof headsSchema>;

/** How each chain is named to people. */
export const CHAIN_NAMES: Record<Chain, string> = { bundles: 'era bundle', audit: 'audit log' };

/**
 * Why the current chain does not extend the saved head, or null when it does: it must hold at
 * least as many links, and its link at the saved count (`digestAtSaved`, null when it has no
 * such link) must carry the saved digest.
 */
export function headBreak(saved: ChainHead, current: ChainHead, digestAtSaved: string | null): string | null {
  if (current.count < saved.count) {
    return `it holds ${current.count} link(s) where the saved head had ${saved.count}: links were removed`;
  }
  if (saved.count === 0) return null;
  if (digestAtSaved !== saved.chainDigest) {
    return `its link ${saved.count} has chain digest ${digestAtSaved ?? 'none'} where the saved head had ${saved.chainDigest}: history up to that link was rewritten`;
  }
  return null;
}
