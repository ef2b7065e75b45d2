import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nearDuplicates, rankSpearman, type SubmissionRanks } from '../../src/domain/duplicates.js';
import { rankCodes } from '../../src/domain/prepared.js';
import { pearson, spearman } from '../../src/domain/stats.js';
import { rng } from '../support/rng.js';

const N = 240;

function submission(account: string, values: Float64Array): SubmissionRanks {
  const { codes, covered } = rankCodes(values);
  return { account, codes, covered, digest: createHash('md5').update(codes).digest('hex') };
}

/** Swaps `swaps` random pairs of values: a copy disguised a little. */
function disguised(values: Float64Array, swaps: number, random: () => number): Float64Array {
  const out = Float64Array.from(values);
  for (let s = 0; s < swaps; s++) {
    const i = Math.floor(random() * out.length);
    const j = Math.floor(random() * out.length);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Every cross-account pair compared exactly, joined by union-find: what the bounded search must find. */
function bruteForce(subs: readonly SubmissionRanks[], threshold = 0.99): number[][] {
  const parent = subs.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let a = 0; a < subs.length; a++) {
    for (let b = a + 1; b < subs.length; b++) {
      if (subs[a].account !== subs[b].account && rankSpearman(subs[a], subs[b]) >= threshold) parent[find(b)] = find(a);
    }
  }
  const groups = new Map<number, number[]>();
  subs.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  return [...groups.values()].filter((g) => g.length > 1 && new Set(g.map((i) => subs[i].account)).size > 1).sort((x, y) => x[0] - y[0]);
}

function tournamentOf(random: () => number) {
  const common = Float64Array.from({ length: N }, () => random());
  const subs: SubmissionRanks[] = [];
  // 150 models that share a signal (pairwise Spearman about 0.5–0.9), none a copy.
  for (let k = 0; k < 150; k++) {
    const weight = 0.3 + random() * 0.6;
    subs.push(submission(`acct${k}`, Float64Array.from(common, (c) => weight * c + (1 - weight) * random())));
  }
  const original = subs[7];
  const values = Float64Array.from({ length: N }, (_, i) => original.codes[i]);
  subs.push(submission('thief', values.map((v) => v / 1000))); // same order, other values: identical ranks
  subs.push(submission('thief2', disguised(values, 2, random))); // a few swaps: Spearman just under 1
  subs.push(submission('acct7', disguised(values, 1, random))); // the same account: never a duplicate of its own
  subs.push(submission('far', disguised(values, 40, random))); // many swaps: below 0.99
  return subs;
}

describe('near-duplicate submissions', () => {
  it('finds exactly the groups an exhaustive comparison finds, copies and disguised copies across accounts', () => {
    const subs = tournamentOf(rng(11));
    const { groups, complete } = nearDuplicates(subs);
    expect(complete).toBe(true);
    expect(groups.map((g) => g.members).sort((x, y) => x[0] - y[0])).toEqual(bruteForce(subs));
    const copied = groups.find((g) => g.members.includes(7))!;
    expect(copied.members).toEqual(expect.arrayContaining([7, 150, 151, 152]));
    expect(copied.members).not.toContain(153);
    expect(copied.spearman).toBeGreaterThanOrEqual(0.99);
    expect(copied.spearman).toBeLessThan(1);
    expect(rankSpearman(subs[7], subs[153])).toBeLessThan(0.99);
  });

  it('gives identical rankings Spearman 1 without comparing them, and reports nothing within one account', () => {
    const random = rng(3);
    const values = Float64Array.from({ length: N }, () => random());
    const subs = [submission('a', values), submission('a', values), submission('b', Float64Array.from({ length: N }, () => random()))];
    expect(nearDuplicates(subs).groups).toEqual([]);
    const copied = [...subs, submission('c', values.map((v) => v * 2))];
    expect(nearDuplicates(copied, { maxExactPairs: 0 })).toEqual({ groups: [{ members: [0, 1, 3], spearman: 1 }], complete: true });
  });

  it('says when its bound on exact comparisons cut the search short', () => {
    const subs = tournamentOf(rng(5));
    expect(nearDuplicates(subs, { maxExactPairs: 0 }).complete).toBe(false);
  });

  it('computes Spearman from the rank codes: as the statistics module does from full values, and as Pearson of the ranks with uncovered ids at 0.5', () => {
    const random = rng(9);
    const a = Float64Array.from({ length: N }, () => Math.round(random() * 20) / 20);
    const b = Float64Array.from({ length: N }, (_, i) => (i % 17 === 0 ? NaN : random()));
    const filled = (v: Float64Array, s: SubmissionRanks) => Float64Array.from(v, (x, i) => (s.codes[i] === 0 ? 0.5 : (s.codes[i] - 1) / (2 * s.covered)));
    const sa = submission('a', a);
    const sb = submission('b', b);
    expect(rankSpearman(sa, sb)).toBeCloseTo(pearson(filled(a, sa), filled(b, sb)), 12);
    const full = Float64Array.from({ length: N }, () => random());
    expect(rankSpearman(sa, submission('c', full))).toBeCloseTo(spearman(a, full), 12);
  });
});
