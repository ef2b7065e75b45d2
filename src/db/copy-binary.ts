import type pg from 'pg';

/** One tuple of a binary COPY: each field's bytes (a view valid only during the callback), null for NULL. */
export type BinaryTuple = readonly (Buffer | null)[];

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Streams `COPY (query) TO STDOUT (FORMAT binary)` through `onTuple`, one tuple at a time.
 * Binary COPY is how bytea leaves Postgres without hex encoding (node-postgres decodes every
 * DataRow field as text), which is most of the cost of reading prepared vectors back.
 */
export function copyBinaryOut(client: pg.PoolClient, query: string, onTuple: (tuple: BinaryTuple) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    let headerRead = false;
    let failure: unknown;

    // Tuples may span CopyData messages: parse what is complete, keep the rest.
    const consume = (chunk: Buffer) => {
      let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      if (!headerRead) {
        if (buf.length < 19) {
          pending = buf;
          return;
        }
        if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
        at = 19 + buf.readInt32BE(15);
        headerRead = true;
      }
      for (;;) {
        if (buf.length - at < 2) break;
        const count = buf.readInt16BE(at);
        if (count === -1) {
          at = buf.length;
          break;
        }
        const fields: (Buffer | null)[] = [];
        let cursor = at + 2;
        for (let f = 0; f < count; f++) {
          if (buf.length - cursor < 4) break;
          const length = buf.readInt32BE(cursor);
          cursor += 4;
          if (length === -1) {
            fields.push(null);
            continue;
          }
          if (buf.length - cursor < length) break;
          fields.push(buf.subarray(cursor, cursor + length));
          cursor += length;
        }
        if (fields.length < count) break;
        onTuple(fields);
        at = cursor;
      }
      buf = buf.subarray(at);
      // Copy the remainder so the chunk it came from can be collected.
      pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
    };

    const submittable: pg.Submittable & Record<string, unknown> = {
      submit: (connection) => connection.query(`copy (${query}) to stdout (format binary)`),
      handleCopyData: (message: { chunk: Buffer }) => {
        if (failure !== undefined) return;
        try {
          consume(message.chunk);
        } catch (error) {
          failure = error;
        }
      },
      handleCommandComplete: () => {},
      // An error from the server (or the connection) ends the COPY: fail now, whatever follows.
      handleError: (error: unknown) => reject(error),
      handleReadyForQuery: () => (failure === undefined ? resolve() : reject(failure)),
    };
    client.query(submittable);
  });
}
