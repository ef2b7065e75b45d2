import { auditChainDigestAt, auditChainHead } from '../db/audit.js';
import { bundleChainDigestAt, bundleChainHead } from '../db/bundles.js';
import type { Database } from '../db/client.js';
import { CHAIN_NAMES, CHAINS, headBreak, type Chain, type Heads } from '../domain/heads.js';
import { notFound } from '../errors.js';

/** A chain that no longer extends a saved head: which one, and how. */
export interface HeadBreak {
  chain: Chain;
  problem: string;
}

/**
 * The published heads of the era-bundle and audit chains, and each chain's digest at a position,
 * so anyone who kept an earlier answer can check that history was only ever appended to.
 * Digests only: no bundle or entry content.
 */
export function headsService(deps: { db: Database }) {
  const { db } = deps;
  const digestAt = (chain: Chain, position: number) => (chain === 'bundles' ? bundleChainDigestAt(db, position) : auditChainDigestAt(db, position));
  async function heads(): Promise<Heads> {
    const [bundles, audit] = await Promise.all([bundleChainHead(db), auditChainHead(db)]);
    return { bundles, audit };
  }

  return {
    heads,

    /** 404 past the chain's end. */
    async digestAt(chain: Chain, position: number): Promise<{ position: number; chainDigest: string }> {
      const chainDigest = await digestAt(chain, position);
      if (chainDigest === undefined) {
        const { count } = chain === 'bundles' ? await bundleChainHead(db) : await auditChainHead(db);
        throw notFound(`the ${CHAIN_NAMES[chain]} chain holds ${count} link(s): position ${position} does not exist (yet)`);
      }
      return { position, chainDigest };
    },

    /** Each chain that does not extend its saved head (none when both do). */
    async compare(saved: Heads): Promise<{ current: Heads; breaks: HeadBreak[] }> {
      const current = await heads();
      const breaks: HeadBreak[] = [];
      for (const chain of CHAINS) {
        const at = saved[chain].count > 0 && current[chain].count >= saved[chain].count ? ((await digestAt(chain, saved[chain].count)) ?? null) : null;
        const problem = headBreak(saved[chain], current[chain], at);
        if (problem) breaks.push({ chain, problem });
      }
      return { current, breaks };
    },
  };
}

export type HeadsService = ReturnType<typeof headsService>;
