import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealBundle, type BundleContent } from '../../src/domain/bundle.js';
import { auditEntryDigest, canonicalJson, differences } from '../../src/domain/chain.js';

const content: BundleContent = {
  era: 7,
  closedAt: '2026-12-01T18:00:00.000Z',
  resolvedAt: '2026-12-02T08:00:00.000Z',
  mainTarget: 'target',
  policy: null,
  payout: { corrMultiplier: 0.5, mmcMultiplier: 2, clip: 0.05, stakeThreshold: 72000 },
  payoutFactor: 1,
  totalAtRisk: '150.5',
  ids: ['b', 'a'],
  value: [0.25, null],
  unconstrained: [1e-7, -0.5],
  targets: { target: [0, 1e21] },
  models: [{ model: 'm', stake: '150.5', submissionSha256: 'f'.repeat(64), corr: 0.1, mmc: null, payout: '-0.25' }],
};

describe('canonical JSON and the bundle seal', () => {
  it('writes RFC 8785: sorted keys, no whitespace, ECMAScript numbers', () => {
    expect(canonicalJson({ b: [1e21, 1e-7, 0.1 + 0.2, -0, 100], a: 'é\n', '€': null, A: true })).toBe(
      '{"A":true,"a":"é\\n","b":[1e+21,1e-7,0.30000000000000004,0,100],"€":null}',
    );
  });

  it('digests the bundle without its seal fields and chains the digest after the previous link', () => {
    const previous = 'a'.repeat(64);
    const { bundle, bytes } = sealBundle(content, previous);
    const text =
      '{"closedAt":"2026-12-01T18:00:00.000Z","era":7,"ids":["b","a"],"mainTarget":"target",' +
      '"models":[{"corr":0.1,"mmc":null,"model":"m","payout":"-0.25","stake":"150.5","submissionSha256":"' + 'f'.repeat(64) + '"}],' +
      '"payout":{"clip":0.05,"corrMultiplier":0.5,"mmcMultiplier":2,"stakeThreshold":72000},"payoutFactor":1,"policy":null,' +
      '"resolvedAt":"2026-12-02T08:00:00.000Z","targets":{"target":[0,1e+21]},"totalAtRisk":"150.5","unconstrained":[1e-7,-0.5],"value":[0.25,null]}';
    const digest = createHash('sha256').update(text).digest('hex');
    expect(bundle.digest).toBe(digest);
    expect(bundle.previousChainDigest).toBe(previous);
    expect(bundle.chainDigest).toBe(createHash('sha256').update(previous + digest).digest('hex'));
    // The stored bytes: the same object with the three seal fields in their sorted places.
    expect(bytes.toString()).toBe(
      text.replace('{"closedAt"', `{"chainDigest":"${bundle.chainDigest}","closedAt"`).replace('"era":7,', `"digest":"${digest}","era":7,`).replace('"policy":null,', `"policy":null,"previousChainDigest":"${previous}",`),
    );
  });

  it('hashes a version 1 audit entry over its canonical content, details included, without name or key', () => {
    const entry = {
      id: 3, at: '2026-12-02T08:00:00.123456Z', actorId: null, actorName: null, keyId: null,
      action: 'era.resolve', subject: 'era:7', reason: null, details: { b: 1, a: [2] }, digestVersion: 1 as const,
    };
    const text = '{"action":"era.resolve","actorId":null,"at":"2026-12-02T08:00:00.123456Z","details":{"a":[2],"b":1},"id":3,"reason":null,"subject":"era:7"}';
    expect(auditEntryDigest(entry)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(auditEntryDigest({ ...entry, details: { b: 1, a: [3] } })).not.toBe(auditEntryDigest(entry));
    // Entries written before names were recorded verify whatever is served beside them.
    expect(auditEntryDigest({ ...entry, actorName: 'someone' })).toBe(auditEntryDigest(entry));
  });

  it('hashes a version 2 audit entry over the actor name, the key and its version too', () => {
    const entry = {
      id: 4, at: '2026-12-02T08:00:00.123456Z', actorId: 'a0000000-0000-4000-8000-000000000001', actorName: 'alice',
      keyId: 'b0000000-0000-4000-8000-000000000002', action: 'policy.activate', subject: 'policy:p', reason: 'r', details: null, digestVersion: 2 as const,
    };
    const text =
      '{"action":"policy.activate","actorId":"a0000000-0000-4000-8000-000000000001","actorName":"alice","at":"2026-12-02T08:00:00.123456Z",' +
      '"details":null,"digestVersion":2,"id":4,"keyId":"b0000000-0000-4000-8000-000000000002","reason":"r","subject":"policy:p"}';
    expect(auditEntryDigest(entry)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(auditEntryDigest({ ...entry, actorName: 'mallory' })).not.toBe(auditEntryDigest(entry));
    expect(auditEntryDigest({ ...entry, keyId: null })).not.toBe(auditEntryDigest(entry));
    expect(auditEntryDigest({ ...entry, digestVersion: 1 })).not.toBe(auditEntryDigest(entry));
  });
});

describe('differences', () => {
  it('names each differing path, the first few with both sides, and counts them all', () => {
    const stored = { a: [1, 2, 3, 4], b: { c: 'x', d: null }, e: [1] };
    const now = { a: [1, 5, 3, 6], b: { c: 'y', d: null }, e: [1, 2] };
    expect(differences(stored, now, 2)).toEqual({
      first: [
        { path: 'a[1]', stored: 2, recomputed: 5 },
        { path: 'a[3]', stored: 4, recomputed: 6 },
      ],
      count: 4,
    });
    expect(differences(stored, now).first.map((d) => d.path)).toEqual(['a[1]', 'a[3]', 'b.c', 'e.length']);
    expect(differences({ a: 1 }, { a: 1, b: null }).first).toEqual([{ path: 'b', stored: undefined, recomputed: null }]);
    expect(differences(stored, structuredClone(stored))).toEqual({ first: [], count: 0 });
  });
});
