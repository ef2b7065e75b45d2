import { describe, expect, it } from 'vitest';
import { binaryCopyParser, type BinaryTuple } from '../../src/db/copy-binary.js';

/** A binary COPY stream as Postgres writes it: signature, flags, extension, tuples, trailer. */
function copyStream(tuples: (Buffer | null)[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0xab, 0xcd])];
  for (const tuple of tuples) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(tuple.length);
    parts.push(count);
    for (const field of tuple) {
      const length = Buffer.alloc(4);
      length.writeInt32BE(field === null ? -1 : field.length);
      parts.push(length, ...(field === null ? [] : [field]));
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const int4 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

describe('binaryCopyParser', () => {
  const tuples = [
    [Buffer.from([2, 0, 4, 0, 2, 0]), int4(2), null],
    [Buffer.alloc(0), int4(-7), Buffer.from('x')],
    [Buffer.alloc(300, 9), int4(123456), Buffer.from([1, 2, 3])],
  ];
  const stream = copyStream(tuples);
  const copy = (t: BinaryTuple) => t.map((f) => (f === null ? null : Buffer.from(f)));

  it('reads every tuple of a stream given in one chunk', () => {
    const seen: (Buffer | null)[][] = [];
    binaryCopyParser((t) => seen.push(copy(t)))(stream);
    expect(seen).toEqual(tuples);
  });

  it.each([1, 2, 3, 5, 7, 19, 64])('reads the same tuples when the stream arrives in chunks of %i bytes', (size) => {
    const seen: (Buffer | null)[][] = [];
    const parse = binaryCopyParser((t) => seen.push(copy(t)));
    for (let at = 0; at < stream.length; at += size) parse(stream.subarray(at, at + size));
    expect(seen).toEqual(tuples);
  });

  it('refuses a stream that is not binary COPY', () => {
    expect(() => binaryCopyParser(() => {})(Buffer.from('id,value\nabc,0.5\nmore text here'))).toThrow(/binary COPY/);
  });
});
