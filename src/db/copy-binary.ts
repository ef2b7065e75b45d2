import type pg from 'pg';

/** One tuple of a binary COPY: each field's bytes (a view valid only during the callback), null for NULL. */
export type BinaryTuple = readonly (Buffer | null)[];

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * A parser of the binary COPY format fed chunk by chunk: tuples may span chunks, so it parses
 * what is complete and keeps the rest.
 */
export function binaryCopyParser(onTuple: (tuple: BinaryTuple) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let headerRead = false;
  let ended = false;
  return (chunk) => {
    if (ended) return;
    const buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    if (!headerRead) {
      if (buf.length >= 11 && !buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      if (buf.length < 19 || buf.length < 19 + buf.readInt32BE(15)) {
        pending = Buffer.from(buf);
        return;
      }
      at = 19 + buf.readInt32BE(15);
      headerRead = true;
    }
    const fields: (Buffer | null)[] = [];
    for (;;) {
      if (buf.length - at < 2) break;
      const count = buf.readInt16BE(at);
      if (count === -1) {
        ended = true;
        at = buf.length;
        break;
      }
      fields.length = 0;
      let cursor = at + 2;
      for (let f = 0; f < count && buf.length - cursor >= 4; f++) {
        const length = buf.readInt32BE(cursor);
        if (length === -1) {
          fields.push(null);
          cursor += 4;
        } else if (buf.length - cursor - 4 >= length) {
          fields.push(buf.subarray(cursor + 4, cursor + 4 + length));
          cursor += 4 + length;
        } else break;
      }
      if (fields.length < count) break;
      onTuple(fields);
      at = cursor;
    }
    // Copy the remainder so the chunk it came from can be collected.
    pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
  };
}

/**
 * Streams `COPY (query) TO STDOUT (FORMAT binary)` through `onTuple`, one tuple at a time.
 * Binary COPY is how bytea leaves Postgres without hex encoding (node-postgres decodes every
 * DataRow field as text), which is most of the cost of reading prepared vectors back.
 */
export function copyBinaryOut(client: pg.PoolClient, query: string, onTuple: (tuple: BinaryTuple) => void): Promise<void> {
  return copyOut(client, `copy (${query}) to stdout (format binary)`, binaryCopyParser(onTuple));
}

/**
 * Runs a `COPY … TO STDOUT` command and hands each chunk the server sends to `onChunk`, as it
 * comes; resolves when the COPY is complete. The one place that speaks COPY out to node-postgres.
 */
export function copyOut(client: pg.PoolClient, command: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const submittable: pg.Submittable & Record<string, unknown> = {
      submit: (connection) => connection.query(command),
      handleCopyData: (message: { chunk: Buffer }) => {
        if (failure !== undefined) return;
        try {
          onChunk(message.chunk);
        } catch (error) {
          // Drain the rest of the COPY, then fail: the connection stays usable for the rollback.
          failure = error instanceof Error ? error : new Error(String(error));
        }
      },
      handleCommandComplete: () => {},
      // An error from the server (or the connection) ends the COPY: fail now, whatever follows.
      handleError: (error: Error) => reject(error),
      handleReadyForQuery: () => (failure === undefined ? resolve() : reject(failure)),
    };
    client.query(submittable);
  });
}
