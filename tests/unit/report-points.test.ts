import { describe, expect, it } from 'vitest';
import { readSummaryCursor, summaryCursor, summaryPage, type StoredPoint, type StoredPointRow } from '../../src/domain/report-points.js';

function storedPoint(era: number, padding = ''): StoredPoint {
  return {
    era,
    closedAt: new Date(Date.UTC(2026, 0, era)).toISOString(),
    universeSize: 100 + era,
    tradable: 90 + era,
    excludedShare: 0.1,
    observedShare: 0,
    policy: null,
    policyCost: 1,
    stake: { models: 5 + era, total: `${era * 10}`, gini: 0.5, nakamoto50: 2, effectiveModels: 3, top10Share: null },
    metaModelCorr: { [`target${padding}`]: era / 100 },
    performanceCost: {},
    exposures: { attributes: {}, tags: {} },
  };
}

/** Stored rows newest first from `newest` down to 1, each 10 more stake than the one before. */
function rows(newest: number, padding = ''): StoredPointRow[] {
  return Array.from({ length: newest }, (_, k) => newest - k).map((era) => ({ era, point: storedPoint(era, padding), totalStakeChange: era === 1 ? null : '10' }));
}

describe('summaryCursor', () => {
  it('round-trips an era and refuses any other text', () => {
    for (const era of [1, 20, 900_001]) expect(readSummaryCursor(summaryCursor(era))).toBe(era);
    for (const text of ['', '3', 'before:3', summaryCursor(3) + '=', Buffer.from('before:0').toString('base64url'), Buffer.from('before:03').toString('base64url'), Buffer.from('after:3').toString('base64url')]) {
      expect(readSummaryCursor(text), text).toBeNull();
    }
  });
});

describe('summaryPage', () => {
  it('takes `limit` eras newest first; the extra row gives the oldest its change and the next cursor', () => {
    const page = summaryPage(rows(25).slice(0, 21), 20, new Map([[25, 'abc']]));
    expect(page.eras.map((p) => p.era)).toEqual(Array.from({ length: 20 }, (_, k) => 25 - k));
    expect(page.next).toBe(summaryCursor(6));
    expect(page.eras[0].chainDigest).toBe('abc');
    expect(page.eras[1].chainDigest).toBeNull();
    for (const point of page.eras) expect(point.change).toMatchObject({ universeSize: 1, models: 1, totalStake: '10' });
  });

  it('ends with next null and the first era without a change when no row is left', () => {
    const page = summaryPage(rows(3), 20, new Map());
    expect(page.eras.map((p) => p.era)).toEqual([3, 2, 1]);
    expect(page.next).toBeNull();
    expect(page.eras[2].change).toBeNull();
  });

  it('stops before its eras pass the byte budget, at least one era a page, and the cursor resumes after the last era shown', () => {
    const wide = 'x'.repeat(2000);
    const page = summaryPage(rows(30, wide), 20, new Map(), 10_000);
    const bytes = page.eras.reduce((sum, p) => sum + JSON.stringify(p).length, 0);
    expect(page.eras.length).toBeGreaterThan(1);
    expect(page.eras.length).toBeLessThan(20);
    expect(bytes).toBeLessThanOrEqual(10_000);
    expect(page.next).toBe(summaryCursor(page.eras[page.eras.length - 1].era));
    expect(summaryPage(rows(30, wide), 20, new Map(), 10).eras).toHaveLength(1);
  });
});
