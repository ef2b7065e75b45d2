/**
 * The service's one CSV reader (submissions, universes, targets). RFC 4180 with the usual
 * leniencies: an optional UTF-8 BOM, CRLF or LF line ends, no final newline needed, and
 * blank lines skipped anywhere (line numbers still count them). The header is simply the
 * first row delivered.
 */
export interface CsvRowVisitor {
  /** `fields` is reused for the next row: copy what you keep. `line` is 1-based. */
  row(fields: readonly string[], line: number): void;
  /** A row whose quoting is broken; it is not delivered to `row`. */
  malformed(line: number, reason: string): void;
}

const BOM = 0xfeff;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

export function readCsv(text: string, visitor: CsvRowVisitor): void {
  const start = text.charCodeAt(0) === BOM ? 1 : 0;
  // Nearly every body has no quote at all; those never pay for the quote-aware scanner.
  if (text.indexOf('"', start) === -1) readUnquoted(text, start, visitor);
  else new QuotedCsvReader(text, start, visitor).read();
}

function readUnquoted(text: string, start: number, visitor: CsvRowVisitor): void {
  const fields: string[] = [];
  const end = text.length;
  let pos = start;
  let line = 0;
  // Cached across lines so a body with few commas is still scanned once, not once per line.
  let nextComma = -1;
  while (pos < end) {
    line += 1;
    let lineBreak = text.indexOf('\n', pos);
    if (lineBreak === -1) lineBreak = end;
    const lineEnd = lineBreak > pos && text.charCodeAt(lineBreak - 1) === CR ? lineBreak - 1 : lineBreak;
    if (lineEnd > pos) {
      let count = 0;
      let fieldStart = pos;
      for (;;) {
        if (nextComma < fieldStart) {
          nextComma = text.indexOf(',', fieldStart);
          if (nextComma === -1) nextComma = end;
        }
        if (nextComma >= lineEnd) break;
        fields[count++] = text.slice(fieldStart, nextComma);
        fieldStart = nextComma + 1;
      }
      fields[count++] = text.slice(fieldStart, lineEnd);
      // Rows nearly always have the same width; truncating every time costs a runtime call.
      if (fields.length !== count) fields.length = count;
      visitor.row(fields, line);
    }
    pos = lineBreak + 1;
  }
}

/** The slow path: a character scanner for bodies that contain at least one quote. */
class QuotedCsvReader {
  private readonly fields: string[] = [];
  private line = 1;

  constructor(
    private readonly text: string,
    private pos: number,
    private readonly visitor: CsvRowVisitor,
  ) {}

  read(): void {
    while (this.pos < this.text.length) {
      if (this.skipLineEnd()) continue;
      const rowLine = this.line;
      const fault = this.readRow();
      if (fault === undefined) this.visitor.row(this.fields, rowLine);
      else {
        this.visitor.malformed(rowLine, fault);
        this.skipRestOfLine();
      }
      this.skipLineEnd();
    }
  }

  /** Reads fields up to the end of the row; returns why the row is malformed, if it is. */
  private readRow(): string | undefined {
    this.fields.length = 0;
    for (;;) {
      const fault = this.text.charCodeAt(this.pos) === QUOTE ? this.readQuotedField() : this.readPlainField();
      if (fault !== undefined) return fault;
      if (this.text.charCodeAt(this.pos) !== COMMA) return undefined;
      this.pos += 1;
    }
  }

  private readQuotedField(): string | undefined {
    const { text } = this;
    let value = '';
    let from = this.pos + 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (quote === -1) {
        this.pos = text.length;
        return 'a quoted field is never closed (a quote inside a quoted field must be doubled: "")';
      }
      value += text.slice(from, quote);
      if (text.charCodeAt(quote + 1) !== QUOTE) {
        this.line += countLineFeeds(text, this.pos, quote);
        this.pos = quote + 1;
        break;
      }
      value += '"';
      from = quote + 2;
    }
    this.fields.push(value);
    if (this.atFieldEnd()) return undefined;
    return 'text follows a closing quote; quote the whole field';
  }

  private readPlainField(): string | undefined {
    const { text } = this;
    const start = this.pos;
    let pos = start;
    let sawQuote = false;
    for (; pos < text.length; pos += 1) {
      const c = text.charCodeAt(pos);
      if (c === COMMA || c === LF) break;
      if (c === QUOTE) sawQuote = true;
    }
    this.pos = pos;
    if (sawQuote) return 'a quote inside an unquoted field; quote the whole field and double the inner quote ("")';
    const end = pos > start && this.lineEndWidth(pos - 1) > 0 ? pos - 1 : pos;
    this.pos = end;
    this.fields.push(text.slice(start, end));
    return undefined;
  }

  private atFieldEnd(): boolean {
    return this.pos >= this.text.length || this.text.charCodeAt(this.pos) === COMMA || this.lineEndWidth(this.pos) > 0;
  }

  /** Consumes one line end if the cursor is on one. */
  private skipLineEnd(): boolean {
    const width = this.lineEndWidth(this.pos);
    if (width === 0) return false;
    this.pos += width;
    this.line += 1;
    return true;
  }

  /** LF, CRLF, or a CR that ends the text (as the fast path strips it): their length, else 0. */
  private lineEndWidth(pos: number): number {
    const c = this.text.charCodeAt(pos);
    if (c === LF) return 1;
    if (c !== CR) return 0;
    const next = pos + 1;
    if (next === this.text.length) return 1;
    return this.text.charCodeAt(next) === LF ? 2 : 0;
  }

  private skipRestOfLine(): void {
    const lineBreak = this.text.indexOf('\n', this.pos);
    this.pos = lineBreak === -1 ? this.text.length : lineBreak;
  }
}

function countLineFeeds(text: string, from: number, to: number): number {
  let count = 0;
  for (let pos = text.indexOf('\n', from); pos !== -1 && pos < to; pos = text.indexOf('\n', pos + 1)) count += 1;
  return count;
}
