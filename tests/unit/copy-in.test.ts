import { describe, expect, it } from 'vitest';
import { binaryCopyParser } from '../../src/db/copy-binary.js';
import { BinaryCopyWriter } from '../../src/db/copy-in.js';

describe('BinaryCopyWriter', () => {
  it('writes what the binary COPY parser reads back, across chunk boundaries', () => {
    // A tiny chunk size makes rows span several chunks.
    const writer = new BinaryCopyWriter(16);
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    writer.row(5).uuid(uuid).text('tärget').int4(-3).float8(0.1).null();
    writer.row(5).uuid(uuid.replaceAll('-', '')).text('').int4(2_000_000_000).float8(null).float8(-0);
    expect(writer.rows).toBe(2);
    const stream = Buffer.concat(writer.end());
    const read: (Buffer | null)[][] = [];
    binaryCopyParser((tuple) => read.push(tuple.map((f) => (f === null ? null : Buffer.from(f)))))(stream);
    expect(read).toHaveLength(2);
    expect(read[0][0]!.toString('hex')).toBe(uuid.replaceAll('-', ''));
    expect(read[0][1]!.toString('utf8')).toBe('tärget');
    expect(read[0][2]!.readInt32BE()).toBe(-3);
    expect(read[0][3]!.readDoubleBE()).toBe(0.1);
    expect(read[0][4]).toBeNull();
    expect(read[1][1]!.length).toBe(0);
    expect(read[1][2]!.readInt32BE()).toBe(2_000_000_000);
    expect(read[1][3]).toBeNull();
    // −0 goes as 0, as the text protocol sends it.
    expect(Object.is(read[1][4]!.readDoubleBE(), 0)).toBe(true);
  });

  it('refuses a malformed uuid', () => {
    expect(() => new BinaryCopyWriter().row(1).uuid('not-a-uuid')).toThrow(/not a uuid/);
  });
});
