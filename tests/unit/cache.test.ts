import { describe, expect, it } from 'vitest';
import { boundedCache } from '../../src/cache.js';

describe('boundedCache', () => {
  it('holds at most max entries, dropping the least recently used', () => {
    const cache = boundedCache<string, number>({ max: 2, staleness: 'test' });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect([...cache.keys()].sort()).toEqual(['a', 'c']);
  });

  it('bounds the summed size when a size is given', () => {
    const cache = boundedCache<string, number[]>({ maxSize: { total: 5, sizeOf: (v) => v.length }, staleness: 'test' });
    cache.set('a', [1, 2, 3]);
    cache.set('b', [1, 2, 3]);
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);
  });

  it('shares one load between concurrent misses', async () => {
    let loads = 0;
    const cache = boundedCache<string, string>({ max: 10, staleness: 'test', load: async (key) => `${key}:${++loads}` });
    const [x, y] = await Promise.all([cache.fetch('k'), cache.fetch('k')]);
    expect([x, y, loads]).toEqual(['k:1', 'k:1', 1]);
  });

  it('refuses a cache without a bound or without a reason', () => {
    expect(() => boundedCache({ max: 0, staleness: 'x' })).toThrow(/bound/);
    expect(() => boundedCache({ max: 5, staleness: ' ' })).toThrow(/reason/);
  });
});
