import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type * as Csv from "../../console/src/lib/csv.js";
import { loadConsoleModule } from "../helpers/console_module.js";

// The console's RFC 4180 reader and writer (console/src/lib/csv.ts), which the Data tab's CSV
// import and export use.
let csv: typeof Csv;
before(async () => {
  csv = await loadConsoleModule<typeof Csv>("lib/csv.ts");
});

const fields = (text: string) => csv.parseCsv(text).map((r) => r.fields);

describe("parseCsv", () => {
  test("records separated by CRLF, fields by commas; the last line break is optional", () => {
    assert.deepEqual(fields("a,b,c\r\n1,2,3\r\n"), [["a", "b", "c"], ["1", "2", "3"]]);
    assert.deepEqual(fields("a,b,c\r\n1,2,3"), [["a", "b", "c"], ["1", "2", "3"]]);
  });

  test("LF and lone CR also end records (files from other systems)", () => {
    assert.deepEqual(fields("a,b\n1,2\n"), [["a", "b"], ["1", "2"]]);
    assert.deepEqual(fields("a,b\r1,2"), [["a", "b"], ["1", "2"]]);
  });

  test("empty fields, empty text, a blank line (a record of one empty field)", () => {
    assert.deepEqual(fields(",,\r\n"), [["", "", ""]]);
    assert.deepEqual(fields("a,\r\n,b"), [["a", ""], ["", "b"]]);
    assert.deepEqual(fields(""), []);
    assert.deepEqual(fields("a\r\n\r\nb"), [["a"], [""], ["b"]]);
  });

  test("quoted fields hold commas, doubled quotes and line breaks", () => {
    assert.deepEqual(fields('"a,b","say ""hi""","line1\r\nline2"\r\nx,"",y'), [["a,b", 'say "hi"', "line1\r\nline2"], ["x", "", "y"]]);
    assert.deepEqual(fields('"{""a"":1}"'), [['{"a":1}']]);
    assert.deepEqual(fields('""""'), [['"']]);
  });

  test("spaces are data (not trimmed), and a byte order mark is skipped", () => {
    assert.deepEqual(fields(" a , b "), [[" a ", " b "]]);
    assert.deepEqual(fields("\uFEFFvariable,value\r\n"), [["variable", "value"]]);
  });

  test("each record knows the line it starts on, also after quoted line breaks", () => {
    const rows = csv.parseCsv('h1,h2\r\n"multi\nline",x\r\nlast,y\n');
    assert.deepEqual(rows.map((r) => r.line), [1, 2, 4]);
  });

  test("malformed input is refused with its line and column, never guessed", () => {
    assert.throws(() => csv.parseCsv('a,b\r\nx,"open\r\n'), (err: Error) => err instanceof csv.CsvError && /^line 2, column 3: a quoted field is never closed$/.test(err.message));
    assert.throws(() => csv.parseCsv('a,b\r\nab"c,d'), /^CsvError: line 2, column 3: a quote inside a field that does not start with one/);
    assert.throws(() => csv.parseCsv('"a"b,c'), /line 1, column 4: text after the closing quote/);
  });

  test("writes what it reads back: quoting only where needed", () => {
    assert.equal(csv.csvField("plain"), "plain");
    assert.equal(csv.csvField("a,b"), '"a,b"');
    assert.equal(csv.csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csv.csvField(" padded"), '" padded"');
    assert.equal(csv.csvField(""), "");
    const values = ["x", "a,b", 'q"q', "l1\nl2", "l1\r\nl2", "", " s ", '{"k":[1,2]}', "é ✓"];
    const text = csv.csvRecord(values) + csv.csvRecord(["last"]);
    assert.deepEqual(fields(text), [values, ["last"]]);
  });

  test("10 000 records of 7 fields parse quickly", () => {
    const line = csv.csvRecord(["temperature", "21.5", "C", "2024-05-01T12:00:00.000Z", "g1", "1.5,2.5", '{"a":1}']);
    const text = line.repeat(10_000);
    const started = performance.now();
    const rows = csv.parseCsv(text);
    assert.equal(rows.length, 10_000);
    assert.deepEqual(rows[9_999]!.fields, ["temperature", "21.5", "C", "2024-05-01T12:00:00.000Z", "g1", "1.5,2.5", '{"a":1}']);
    assert.ok(performance.now() - started < 1000);
  });
});
