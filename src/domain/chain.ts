import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** What the first link of a chain follows: 64 zeros. */
export const GENESIS = '0'.repeat(64);

/** RFC 8785 (JCS) canonical JSON: sorted keys, no whitespace, ECMAScript number formatting. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('a value with no JSON form cannot be canonicalised');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the previous link's chain digest ‖ this link's digest, both as hex text. */
export function chainDigest(previous: string, digest: string): string {
  return sha256Hex(previous + digest);
}

/** Where two JSON values differ: a path (e.g. `models[2].stake`) with both sides. */
export interface Difference {
  path: string;
  stored: unknown;
  recomputed: unknown;
}

/**
 * The paths at which two parsed JSON values differ, depth first in key order, at most `limit`
 * of them; `count` says how many there are in all.
 */
export function differences(stored: unknown, recomputed: unknown, limit = 5): { first: Difference[]; count: number } {
  const first: Difference[] = [];
  let count = 0;
  const walk = (a: unknown, b: unknown, path: string) => {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return note(`${path}.length`, a.length, b.length);
      a.forEach((x, i) => walk(x, b[i], `${path}[${i}]`));
      return;
    }
    if (isObject(a) && isObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const key of keys) walk(a[key], b[key], path === '' ? key : `${path}.${key}`);
      return;
    }
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null) || (a === undefined) !== (b === undefined)) note(path, a, b);
  };
  const note = (path: string, a: unknown, b: unknown) => {
    count++;
    if (first.length < limit) first.push({ path: path === '' ? '(whole)' : path, stored: a, recomputed: b });
  };
  walk(stored, recomputed, '');
  return { first, count };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What an audit entry's digest covers; `at` is the database's UTC text of the instant, to the
 * microsecond. Version 1 (entries written before names and keys were recorded) covers neither
 * `actorName` nor `keyId`; version 2 covers both, and its version, so the two never collide.
 */
export type AuditContent = {
  id: number;
  at: string;
  actorId: string | null;
  actorName: string | null;
  keyId: string | null;
  action: string;
  subject: string;
  reason: string | null;
  details: unknown;
  digestVersion: AuditDigestVersion;
};

export type AuditDigestVersion = 1 | 2;

/** The version new entries are written with. */
export const AUDIT_DIGEST_VERSION: AuditDigestVersion = 2;

export function auditEntryDigest(entry: AuditContent): string {
  const { id, at, actorId, action, subject, reason, details } = entry;
  const v1 = { id, at, actorId, action, subject, reason, details: details ?? null };
  if (entry.digestVersion === 1) return sha256Hex(canonicalJson(v1));
  return sha256Hex(canonicalJson({ ...v1, actorName: entry.actorName, keyId: entry.keyId, digestVersion: entry.digestVersion }));
}
