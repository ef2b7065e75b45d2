import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { discardBody } from '../../src/http/discard-body.js';

const limits = { bytes: 1000, totalMs: 60_000, idleMs: 60_000 };

describe('discardBody', () => {
  it('reads the rest of a body to its end and keeps none of it', async () => {
    const body = new PassThrough();
    const done = discardBody(body, limits);
    for (let i = 0; i < 9; i += 1) body.write(Buffer.alloc(100));
    body.end();
    expect(await done).toBe(true);
    expect(body.readableLength).toBe(0);
  });

  it('stops at the byte bound without waiting for the end', async () => {
    const body = new PassThrough();
    const done = discardBody(body, limits);
    for (let i = 0; i < 11; i += 1) body.write(Buffer.alloc(100));
    expect(await done).toBe(false);
    body.destroy();
  });

  it('stops when the client goes quiet', async () => {
    const body = new PassThrough();
    const done = discardBody(body, { ...limits, idleMs: 20 });
    body.write(Buffer.alloc(10));
    expect(await done).toBe(false);
    body.destroy();
  });

  it('returns at once for a body already read', async () => {
    const body = Object.assign(new PassThrough(), { complete: true });
    expect(await discardBody(body, limits)).toBe(true);
  });
});
