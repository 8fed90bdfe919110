/**
 * Records ↔ CSV rows for the Data tab's export and import. Columns: variable, value, unit,
 * time, group, location, metadata (as JSON). A location is written "lat,lng".
 *
 * Import reads a header row naming the columns (any order, any case; `serie` is read as
 * `group`, TagoIO's older name) and turns each row into a record as `POST /device/:id/data`
 * takes it. Nothing is validated here beyond what CSV cannot say: the API checks every record
 * and its words are shown. A field that is not what the column wants (metadata that is not a
 * JSON object) is sent as written, so the API names the record and the field.
 */
import type { DataRecordInputJson, DataRecordJson } from "../../../../../src/http/api_types.js";
import { csvRecord, parseCsv, type CsvRow } from "../../../lib/csv.js";

export const CSV_COLUMNS = ["variable", "value", "unit", "time", "group", "location", "metadata"] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

export const CSV_HEADER = csvRecord(CSV_COLUMNS);

/** One record as a CSV line. */
export function recordToCsv(record: DataRecordJson): string {
  const location = record.location ? `${record.location.coordinates[1]},${record.location.coordinates[0]}` : "";
  return csvRecord([
    record.variable,
    record.value === undefined ? "" : String(record.value),
    record.unit ?? "",
    record.time,
    record.group,
    location,
    record.metadata ? JSON.stringify(record.metadata) : "",
  ]);
}

/** A record to send: location and metadata may still be text the API will refuse, naming them. */
export type ImportRecord = Omit<DataRecordInputJson, "location" | "metadata"> & { location?: unknown; metadata?: unknown };

export interface ImportRow {
  record: ImportRecord;
  /** The CSV line where the row starts, for messages. */
  line: number;
}

export interface ParsedImport {
  rows: ImportRow[];
  /** Header names that are not a column (ignored). */
  ignored: string[];
}

export interface ImportOptions {
  /** Read "21.5" as a number and "true"/"false" as booleans (else every value is text). */
  typedValues: boolean;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LAT_LNG = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/;

/** The CSV text → records; throws (CsvError, or an Error naming the line) when the file cannot be read as a table. */
export function parseImport(text: string, options: ImportOptions): ParsedImport {
  const table = parseCsv(text).filter((row) => !(row.fields.length === 1 && row.fields[0] === ""));
  const header = table[0];
  if (!header) throw new Error("the file holds no rows");
  const { index, ignored } = columnsOf(header);
  const rows: ImportRow[] = [];
  for (let i = 1; i < table.length; i++) {
    const row = table[i]!;
    if (row.fields.length !== header.fields.length) {
      throw new Error(`line ${row.line}: ${row.fields.length} field${row.fields.length === 1 ? "" : "s"}, but the header has ${header.fields.length}`);
    }
    rows.push({ record: toRecord(row.fields, index, options), line: row.line });
  }
  return { rows, ignored };
}

function columnsOf(header: CsvRow): { index: Partial<Record<CsvColumn, number>>; ignored: string[] } {
  const index: Partial<Record<CsvColumn, number>> = {};
  const ignored: string[] = [];
  header.fields.forEach((raw, i) => {
    const name = raw.trim().toLowerCase();
    const column = (name === "serie" ? "group" : name) as CsvColumn;
    if (!CSV_COLUMNS.includes(column)) ignored.push(raw);
    else if (index[column] !== undefined) throw new Error(`line ${header.line}: the column "${column}" appears twice`);
    else index[column] = i;
  });
  if (index.variable === undefined) throw new Error(`line ${header.line}: the header must name a "variable" column (columns: ${CSV_COLUMNS.join(", ")})`);
  return { index, ignored };
}

function toRecord(fields: string[], index: Partial<Record<CsvColumn, number>>, options: ImportOptions): ImportRecord {
  const field = (column: CsvColumn): string => (index[column] === undefined ? "" : fields[index[column]!]!);
  const record: ImportRecord = { variable: field("variable") };
  const value = field("value");
  if (value !== "") record.value = options.typedValues ? typedValue(value) : value;
  const unit = field("unit");
  if (unit !== "") record.unit = unit;
  const time = field("time");
  if (time !== "") record.time = time;
  const group = field("group");
  if (group !== "") record.group = group;
  const location = field("location");
  if (location !== "") record.location = readLocation(location);
  const metadata = field("metadata");
  if (metadata !== "") record.metadata = readJson(metadata);
  return record;
}

function typedValue(text: string): string | number | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  return NUMBER.test(text) ? Number(text) : text;
}

/** "lat,lng", or JSON ({ lat, lng } or a GeoJSON Point); anything else is sent for the API to refuse. */
function readLocation(text: string): unknown {
  const m = LAT_LNG.exec(text);
  if (m) return { lat: Number(m[1]), lng: Number(m[2]) };
  return readJson(text);
}

function readJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Index ranges of `rows` that each fit one request: at most `maxRecords` and `maxBytes` of JSON body. */
export function chunkRanges(rows: readonly ImportRow[], limits: { maxBytes: number; maxRecords: number }): [number, number][] {
  const encoder = new TextEncoder();
  const ranges: [number, number][] = [];
  let start = 0;
  let bytes = 2; // [ ]
  for (let i = 0; i < rows.length; i++) {
    const size = encoder.encode(JSON.stringify(rows[i]!.record)).length + 1; // and a comma
    if (i > start && (bytes + size > limits.maxBytes || i - start >= limits.maxRecords)) {
      ranges.push([start, i]);
      start = i;
      bytes = 2;
    }
    bytes += size;
  }
  if (start < rows.length) ranges.push([start, rows.length]);
  return ranges;
}
