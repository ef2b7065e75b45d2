import { describe, expect, it } from 'vitest';
import { duplicateKeysMessage, scanJsonKeys } from '../../src/ingest/json-text.js';

describe('scanJsonKeys', () => {
  it('finds keys repeated within one object, by path, and only those', () => {
    const text = '{"ids": ["a", "b"], "targets": {"x": [0, 1], "y": [1, 0], "x": [1, 1]}, "rows": [{"k": 1}, {"k": 2, "a": {"b": 1, "b": 2}}]}';
    const scan = scanJsonKeys(text);
    expect(scan.duplicates).toEqual(['targets.x', 'rows[1].a.b']);
    expect(scan.duplicateCount).toBe(2);
    expect(duplicateKeysMessage(scan)).toBe(
      'the JSON body has 2 keys that appear more than once in the same object: "targets.x", "rows[1].a.b"; send each key once (a JSON parser would keep only the last)',
    );
  });

  it('reads keys as JSON spells them: escapes, and strings that hold braces or quotes', () => {
    expect(scanJsonKeys('{"a\\u0062": 1, "ab": 2}').duplicates).toEqual(['ab']);
    expect(scanJsonKeys('{"a": "}{\\"a\\": 1", "b": ["{", "a"], "c": {"a": 1}}').duplicateCount).toBe(0);
    expect(scanJsonKeys('{"__proto__": 1, "__proto__": 2}').duplicates).toEqual(['__proto__']);
  });

  it('stops at the first key past the limit of the object at the given path, before the rest', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `"c${i}": [oops]`).join(', ');
    const scan = scanJsonKeys(`{"ids": [], "targets": {${keys}}}`, { path: 'targets', max: 64 });
    expect(scan.overLimit).toEqual({ path: 'targets', max: 64 });
    // Other objects do not count against it.
    expect(scanJsonKeys('{"a": 1, "b": 2, "targets": {"x": 1}}', { path: 'targets', max: 1 }).overLimit).toBeUndefined();
  });

  it('leaves text that is not JSON to the parser', () => {
    expect(scanJsonKeys('{"a": 1, "a').duplicateCount).toBe(0);
    expect(scanJsonKeys('').duplicateCount).toBe(0);
  });
});
