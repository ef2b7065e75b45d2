import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/ingest/csv.js';

interface Read {
  rows: { fields: string[]; line: number }[];
  malformed: { line: number; reason: string }[];
}

function read(text: string): Read {
  const result: Read = { rows: [], malformed: [] };
  readCsv(text, {
    row: (fields, line) => result.rows.push({ fields: [...fields], line }),
    malformed: (line, reason) => result.malformed.push({ line, reason }),
  });
  return result;
}

const fieldsOf = (text: string) => read(text).rows.map((row) => row.fields);

describe('readCsv without quotes (fast path)', () => {
  it('reads rows with 1-based line numbers', () => {
    expect(read('id,prediction\na,0.5\nb,0.25').rows).toEqual([
      { fields: ['id', 'prediction'], line: 1 },
      { fields: ['a', '0.5'], line: 2 },
      { fields: ['b', '0.25'], line: 3 },
    ]);
  });

  it('drops a UTF-8 BOM and handles CRLF', () => {
    expect(fieldsOf('\uFEFFid,prediction\r\na,0.5\r\n')).toEqual([
      ['id', 'prediction'],
      ['a', '0.5'],
    ]);
  });

  it('skips blank lines anywhere but still counts them', () => {
    expect(read('\nid,p\n\na,1\r\n\r\n\n').rows).toEqual([
      { fields: ['id', 'p'], line: 2 },
      { fields: ['a', '1'], line: 4 },
    ]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(fieldsOf('a,,b,\n,\n')).toEqual([
      ['a', '', 'b', ''],
      ['', ''],
    ]);
  });

  it('reads rows of different widths', () => {
    expect(fieldsOf('a,b,c\nd\ne,f\n')).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f']]);
  });

  it('strips a CR that ends the text', () => {
    expect(fieldsOf('a,b\r')).toEqual([['a', 'b']]);
  });

  it('delivers nothing for an empty or blank body', () => {
    expect(read('').rows).toEqual([]);
    expect(read('\uFEFF\r\n\n').rows).toEqual([]);
  });
});

describe('readCsv with quotes (RFC 4180)', () => {
  it('unquotes fields holding commas, doubled quotes and line breaks', () => {
    expect(read('id,note\n"a,b","say ""hi"""\n"multi\r\nline",x\nlast,"",\n').rows).toEqual([
      { fields: ['id', 'note'], line: 1 },
      { fields: ['a,b', 'say "hi"'], line: 2 },
      { fields: ['multi\r\nline', 'x'], line: 3 },
      { fields: ['last', '', ''], line: 5 },
    ]);
  });

  it('handles a BOM, CRLF and quoted and plain fields mixed', () => {
    expect(fieldsOf('\uFEFF"id",prediction\r\n"a",0.5\r\nb,"0.25"\r\n\r\n')).toEqual([
      ['id', 'prediction'],
      ['a', '0.5'],
      ['b', '0.25'],
    ]);
  });

  it('reports a quote inside an unquoted field and goes on with the next line', () => {
    const result = read('id,p\na"b,1\nc,2\n');
    expect(result.malformed).toEqual([{ line: 2, reason: expect.stringContaining('quote inside an unquoted field') }]);
    expect(result.rows.map((row) => row.line)).toEqual([1, 3]);
  });

  it('reports text after a closing quote', () => {
    const result = read('"a"b,1\nc,2');
    expect(result.malformed).toEqual([{ line: 1, reason: expect.stringContaining('text follows a closing quote') }]);
    expect(result.rows).toEqual([{ fields: ['c', '2'], line: 2 }]);
  });

  it('reports a quoted field that never closes, at the line it opens', () => {
    const result = read('id,p\na,1\n"b,2\nc,3\n');
    expect(result.malformed).toEqual([{ line: 3, reason: expect.stringContaining('never closed') }]);
    expect(result.rows.map((row) => row.line)).toEqual([1, 2]);
  });
});

/** Cells that need no quoting: no comma, quote, CR or LF. */
const plainCell = fc.string({ unit: fc.constantFrom('a', 'b', '0', '.', '-', ' ', ';', 'é', '\t'), maxLength: 6 });
const anyCell = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'x'), maxLength: 6 });

function render(rows: string[][], quote: (cell: string, i: number) => boolean, lineEnd: string, bom: boolean, trailing: string) {
  const cellText = (cell: string, i: number) => (quote(cell, i) ? `"${cell.replaceAll('"', '""')}"` : cell);
  return (bom ? '\uFEFF' : '') + rows.map((row) => row.map(cellText).join(',')).join(lineEnd) + trailing;
}

/** A row of one empty cell is a blank line, which the reader skips by design. */
const nonBlank = (rows: string[][]) => rows.every((row) => row.length > 1 || row[0] !== '');

describe('readCsv round trip', () => {
  it('reads back any grid of plain cells, quoted or not, with LF or CRLF', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(plainCell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }).filter(nonBlank),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.constantFrom('', '\n', '\r\n', '\n\n\r\n'),
        fc.func(fc.boolean()),
        (rows, lineEnd, bom, trailing, quoteSome) => {
          expect(fieldsOf(render(rows, () => false, lineEnd, bom, trailing))).toEqual(rows);
          expect(fieldsOf(render(rows, (cell, i) => quoteSome(cell, i), lineEnd, bom, trailing))).toEqual(rows);
        },
      ),
    );
  });

  it('reads back any grid when every cell is quoted, whatever the cells hold', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyCell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.constantFrom('\n', '\r\n'), (rows, lineEnd) => {
        const result = read(render(rows, () => true, lineEnd, false, lineEnd));
        expect(result.malformed).toEqual([]);
        expect(result.rows.map((row) => row.fields)).toEqual(rows);
      }),
    );
  });

  it('numbers rows by the line they start on, counting line breaks inside quotes', () => {
    expect(read('"a\nb\nc",1\nd,2\n').rows.map((row) => row.line)).toEqual([1, 4]);
  });
});
