const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float64 little-endian bytes: how raw values, targets and run vectors are stored. */
export function encodeFloat64(values: Float64Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const buf = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) buf.writeDoubleLE(values[i], i * 8);
  return buf;
}

/** The inverse of encodeFloat64; copies, since database buffers are rarely 8-byte aligned. */
export function decodeFloat64(buf: Uint8Array): Float64Array {
  if (buf.length % 8 !== 0) throw new RangeError(`a float64 vector cannot be ${buf.length} bytes long`);
  const out = new Float64Array(buf.length / 8);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(buf);
    return out;
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
