import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { nameRecord, own, withNameRecords } from '../../src/domain/records.js';
import { nameSafeSerializerCompiler } from '../../src/http/serializer.js';

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('name records', () => {
  it('hold names from data as ordinary keys and read absent ones as undefined', () => {
    const record = nameRecord(NAMES.map((name, i) => [name, i]));
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(Object.keys(record)).toEqual(NAMES);
    expect(JSON.parse(JSON.stringify(record))).toEqual(Object.fromEntries(NAMES.map((name, i) => [name, i])));
    const empty = nameRecord<number>();
    for (const name of NAMES) expect(empty[name]).toBeUndefined();
    expect(own({}, 'constructor')).toBeUndefined();
    expect(own({ constructor: 3 }, 'constructor')).toBe(3);
  });

  it('turn every object of a stored JSON value into one, deeply', () => {
    const stored = JSON.parse('{"metaModelCorr": {"__proto__": 0.1, "target": 0.2}, "rows": [{"toString": 1}]}');
    const read = withNameRecords(stored) as { metaModelCorr: Record<string, number>; rows: Record<string, number>[] };
    expect(Object.getPrototypeOf(read.metaModelCorr)).toBeNull();
    expect(Object.keys(read.metaModelCorr)).toEqual(['__proto__', 'target']);
    expect(read.metaModelCorr.constructor).toBeUndefined();
    expect(own(read.rows[0], 'toString')).toBe(1);
  });
});

describe('the reply serializer', () => {
  const schema = z.object({ label: z.string(), byName: z.record(z.string(), z.number()) });
  const serialize = nameSafeSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' });

  it('keeps __proto__ keys that a zod record drops, and every other name', () => {
    const byName = nameRecord(NAMES.map((name, i) => [name, i]));
    const text = serialize({ label: 'a', byName });
    expect(Object.entries(JSON.parse(text).byName)).toEqual(NAMES.map((name, i) => [name, i]));
  });

  it('touches no value, even one spelt like the escaped key', () => {
    const text = serialize({ label: '\u0000__proto__', byName: nameRecord([['__proto__', 1]]) });
    expect(JSON.parse(text)).toEqual(JSON.parse('{"label": "\\u0000__proto__", "byName": {"__proto__": 1}}'));
    expect(serialize({ label: 'b', byName: { x: 1 } })).toBe('{"label":"b","byName":{"x":1}}');
  });
});
