/**
 * CSV as RFC 4180 writes it: fields separated by commas, records by CRLF, a field holding a
 * comma, a quote or a line break enclosed in double quotes, a quote inside doubled (`""`).
 *
 * Reading is strict where a guess could corrupt data (a quote in the middle of an unquoted
 * field, text after a closing quote, a quoted field never closed: each an error naming its line
 * and column) and lenient where files commonly differ from the RFC without ambiguity: LF or a
 * lone CR also ends a record, a UTF-8 byte order mark is skipped, and the last record needs no
 * line break. This module has no imports so that it can be tested outside the browser.
 */

export class CsvError extends Error {
  constructor(
    /** 1-based line of the text where the problem is. */
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = "CsvError";
  }
}

export interface CsvRow {
  fields: string[];
  /** 1-based line of the text where the record starts (records may span lines). */
  line: number;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

/** Every record of `text`. A blank line is a record of one empty field, as in the RFC. */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  let lineStart = i;
  let fields: string[] = [];
  let rowLine = 1;
  if (i >= n) return rows;

  for (;;) {
    // At the start of a field.
    let value: string;
    if (text.charCodeAt(i) === QUOTE) {
      const openLine = line;
      const openColumn = i - lineStart + 1;
      i++;
      let parts = "";
      let from = i;
      for (;;) {
        if (i >= n) throw new CsvError(openLine, openColumn, "a quoted field is never closed");
        const c = text.charCodeAt(i);
        if (c === QUOTE) {
          if (text.charCodeAt(i + 1) === QUOTE) {
            parts += text.slice(from, i + 1);
            i += 2;
            from = i;
            continue;
          }
          parts += text.slice(from, i);
          i++;
          break;
        }
        // Line breaks inside quotes belong to the field; count them for later messages.
        if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      value = parts;
      const next = i < n ? text.charCodeAt(i) : -1;
      if (next !== -1 && next !== COMMA && next !== CR && next !== LF) {
        throw new CsvError(line, i - lineStart + 1, "text after the closing quote of a field (a quote inside a quoted field is written twice)");
      }
    } else {
      const from = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === CR || c === LF) break;
        if (c === QUOTE) throw new CsvError(line, i - lineStart + 1, "a quote inside a field that does not start with one (enclose the field in quotes and double the quote)");
        i++;
      }
      value = text.slice(from, i);
    }
    fields.push(value);

    // After a field: a comma, a record's end, or the text's end.
    if (i >= n) {
      rows.push({ fields, line: rowLine });
      return rows;
    }
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      continue;
    }
    i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    line++;
    lineStart = i;
    rows.push({ fields, line: rowLine });
    if (i >= n) return rows; // the last record's line break
    fields = [];
    rowLine = line;
  }
}

/** One field, quoted when it must be (a comma, quote, line break, or spaces at its ends). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One record, CRLF-terminated. */
export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(",")}\r\n`;
}
