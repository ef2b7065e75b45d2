import { describe, expect, it } from 'vitest';
import { windowCounter } from '../../src/http/window-counter.js';

describe('windowCounter', () => {
  it('counts events per key in fixed windows of the given clock', () => {
    const counter = windowCounter({ limit: 2, windowMs: 1_000 });
    expect([counter.hit('a', 0), counter.hit('a', 1), counter.hit('a', 2)]).toEqual([true, true, false]);
    expect(counter.isOver('a', 500)).toBe(true);
    expect(counter.retryAfterSeconds('a', 500)).toBe(1);
    expect(counter.isOver('a', 1_000)).toBe(false);
    expect(counter.hit('a', 1_000)).toBe(true);
  });

  it('stays within maxKeys: expired windows go first, then the oldest window, whatever was read since', () => {
    const counter = windowCounter({ limit: 1, windowMs: 1_000, maxKeys: 3 });
    counter.hit('a', 0);
    counter.hit('b', 100);
    counter.hit('c', 200);
    counter.isOver('a', 300);
    counter.hit('d', 400);
    expect(counter.isOver('a', 500)).toBe(false);
    expect([counter.isOver('b', 500), counter.isOver('c', 500), counter.isOver('d', 500)]).toEqual([true, true, true]);
    counter.hit('e', 1_150);
    expect([counter.isOver('c', 1_160), counter.isOver('d', 1_160), counter.isOver('e', 1_160)]).toEqual([true, true, true]);
  });
});
