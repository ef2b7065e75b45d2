import { describe, expect, it } from 'vitest';
import { EventCursor } from '../../src/domain/event-cursor.js';

describe('EventCursor', () => {
  it('hands out each id once, in the order seen, and resumes after the last contiguous one', () => {
    const cursor = new EventCursor(10, 1_000);
    expect(cursor.take([11, 12], 0)).toEqual([11, 12]);
    expect(cursor.after).toBe(12);
    expect(cursor.take([13], 0)).toEqual([13]);
    expect(cursor.take([], 0)).toEqual([]);
  });

  it('waits for a lower id committed after a higher one, and sends it when it shows up', () => {
    const cursor = new EventCursor(0, 1_000);
    expect(cursor.take([1, 3], 0)).toEqual([1, 3]);
    expect(cursor.after).toBe(1);
    // Read again from after = 1: 3 is not sent twice; 2 committed meanwhile.
    expect(cursor.take([2, 3], 500)).toEqual([2]);
    expect(cursor.after).toBe(3);
  });

  it('moves past a hole that never fills (a rolled-back transaction) after the wait', () => {
    const cursor = new EventCursor(0, 1_000);
    cursor.take([1, 3, 4], 0);
    expect(cursor.after).toBe(1);
    expect(cursor.take([3, 4], 999)).toEqual([]);
    expect(cursor.after).toBe(1);
    expect(cursor.take([3, 4], 1_000)).toEqual([]);
    expect(cursor.after).toBe(4);
  });
});
