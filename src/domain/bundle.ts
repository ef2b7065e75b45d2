import { canonicalJson, chainDigest, sha256Hex } from './chain.js';
import type { PayoutParams } from './scoring.js';

/** One staked model of a resolved era, on its main target. Amounts are exact decimal strings. */
export interface BundleModel {
  model: string;
  /** at-risk stake */
  stake: string;
  /** SHA-256 of the submission as uploaded: the digest its author got back */
  submissionSha256: string;
  corr: number | null;
  mmc: number | null;
  payout: string | null;
}

/**
 * Everything a resolved era's published figures follow from (docs/reports.md and the OpenAPI document), without
 * other authors' predictions. Per-id vectors are aligned to `ids`; null where an id has no value.
 */
export interface BundleContent {
  era: number;
  closedAt: string;
  resolvedAt: string;
  mainTarget: string;
  policy: { name: string; version: number; sha256: string } | null;
  payout: PayoutParams;
  /** pf = min(1, stakeThreshold / totalAtRisk) */
  payoutFactor: number;
  totalAtRisk: string;
  ids: string[];
  /** the published value: tie-kept rank of the traded signal over the tradable ids, null for excluded ids */
  value: (number | null)[];
  unconstrained: (number | null)[];
  targets: Record<string, (number | null)[]>;
  models: BundleModel[];
}

export interface SealedBundle extends BundleContent {
  digest: string;
  chainDigest: string;
  previousChainDigest: string;
}

/** The fields a bundle's digest does not cover: the digest and its chain. */
export const SEAL_FIELDS = ['digest', 'chainDigest', 'previousChainDigest'] as const;

/** A vector as JSON: non-finite entries (no value for that id) become null. */
export function jsonVector(values: ArrayLike<number>): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : null));
}

/** SHA-256 of the JCS form of the bundle without its seal fields. */
export function bundleDigest(bundle: BundleContent | SealedBundle): string {
  return sha256Hex(canonicalJson(unsealed(bundle)));
}

export function unsealed(bundle: BundleContent | SealedBundle): BundleContent {
  const content: Record<string, unknown> = { ...bundle };
  for (const field of SEAL_FIELDS) delete content[field];
  return content as unknown as BundleContent;
}

/**
 * The bundle with its digest, chained after `previous`, and its canonical bytes: what is stored
 * and served. Each top-level value is canonicalised once and the two objects (without and with
 * the seal fields) are assembled from those parts, keys in UTF-16 order as RFC 8785 sorts them.
 */
export function sealBundle(content: BundleContent, previous: string): { bundle: SealedBundle; bytes: Buffer } {
  const parts = new Map(Object.entries(content).map(([key, value]): [string, string] => [key, canonicalJson(value)]));
  const digest = sha256Hex(canonicalObject(parts));
  const bundle: SealedBundle = { ...content, digest, previousChainDigest: previous, chainDigest: chainDigest(previous, digest) };
  for (const field of SEAL_FIELDS) parts.set(field, canonicalJson(bundle[field]));
  return { bundle, bytes: Buffer.from(canonicalObject(parts), 'utf8') };
}

/** An object's canonical JSON from its members' canonical JSON. */
function canonicalObject(parts: Map<string, string>): string {
  const keys = [...parts.keys()].sort();
  return `{${keys.map((key) => `${canonicalJson(key)}:${parts.get(key)}`).join(',')}}`;
}
