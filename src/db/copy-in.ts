import type pg from 'pg';

/**
 * Binary COPY input (`COPY … FROM STDIN (FORMAT binary)`): rows are written field by field into
 * one buffer, then sent in one COPY. Many rows cost one statement, with no text to parse and no
 * per-row statement overhead on the server.
 */
export class BinaryCopyWriter {
  private chunks: Buffer[] = [];
  private buffer: Buffer;
  private at = 0;
  rows = 0;

  constructor(private readonly chunkSize = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(chunkSize);
    // Signature, flags (no OIDs), header extension length 0.
    this.bytes(Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'));
    this.int32(0);
    this.int32(0);
  }

  private room(size: number) {
    if (this.at + size <= this.buffer.length) return;
    this.chunks.push(this.buffer.subarray(0, this.at));
    this.buffer = Buffer.allocUnsafe(Math.max(this.chunkSize, size));
    this.at = 0;
  }

  private int32(value: number) {
    this.room(4);
    this.at = this.buffer.writeInt32BE(value, this.at);
  }

  private bytes(value: Buffer) {
    this.room(value.length);
    this.at += value.copy(this.buffer, this.at);
  }

  /** Starts a row of `fields` fields; each field must follow. */
  row(fields: number): this {
    this.room(2);
    this.at = this.buffer.writeInt16BE(fields, this.at);
    this.rows++;
    return this;
  }

  null(): this {
    this.int32(-1);
    return this;
  }

  text(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    this.room(4 + length);
    this.at = this.buffer.writeInt32BE(length, this.at);
    this.at += this.buffer.write(value, this.at, 'utf8');
    return this;
  }

  int4(value: number): this {
    this.room(8);
    this.at = this.buffer.writeInt32BE(4, this.at);
    this.at = this.buffer.writeInt32BE(value, this.at);
    return this;
  }

  /** A float8; null for null. −0 is sent as 0, as a number sent as text (String(-0) is "0") arrives. */
  float8(value: number | null): this {
    if (value === null) return this.null();
    this.room(12);
    this.at = this.buffer.writeInt32BE(8, this.at);
    this.at = this.buffer.writeDoubleBE(value === 0 ? 0 : value, this.at);
    return this;
  }

  /** A field already encoded (e.g. by uuidBytes, or text as UTF-8), for values repeated over many rows. */
  field(bytes: Buffer): this {
    this.room(4 + bytes.length);
    this.at = this.buffer.writeInt32BE(bytes.length, this.at);
    this.at += bytes.copy(this.buffer, this.at);
    return this;
  }

  /** A uuid from its canonical text (hyphens optional). */
  uuid(value: string): this {
    return this.field(uuidBytes(value));
  }

  /** The whole COPY stream, trailer included; the writer is spent. */
  end(): Buffer[] {
    this.room(2);
    this.at = this.buffer.writeInt16BE(-1, this.at);
    this.chunks.push(this.buffer.subarray(0, this.at));
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

/** A uuid's 16 bytes, as a binary COPY field holds them, from its canonical text (hyphens optional). */
export function uuidBytes(value: string): Buffer {
  const hex = value.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a uuid: ${value}`);
  return Buffer.from(hex, 'hex');
}

/**
 * Runs `COPY <target> FROM STDIN (FORMAT binary)` on `client` with the writer's rows. Resolves
 * with the number of rows copied once the server has them; an error from the server rejects it.
 */
export function copyBinaryIn(client: pg.PoolClient, target: string, writer: BinaryCopyWriter): Promise<number> {
  const rows = writer.rows;
  const chunks = writer.end();
  return new Promise((resolve, reject) => {
    let failed = false;
    const submittable: pg.Submittable & Record<string, unknown> = {
      submit: (connection) => connection.query(`copy ${target} from stdin (format binary)`),
      handleCopyInResponse: (connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }) => {
        for (const chunk of chunks) connection.sendCopyFromChunk(chunk);
        connection.endCopyFrom();
      },
      handleCommandComplete: () => {},
      handleError: (error: Error) => {
        failed = true;
        reject(error);
      },
      handleReadyForQuery: () => {
        if (!failed) resolve(rows);
      },
    };
    client.query(submittable);
  });
}
