import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SluiceError } from "../../src/errors.js";
import { parseDate, parseQueryDate } from "../../src/data/dates.js";
import { LIMITS, validateEdits, validateRecords } from "../../src/data/validate.js";

const now = new Date("2024-05-01T12:00:00.000Z");

/** Asserts that `run` throws INVALID_DATA (or `code`) with a message matching `message`. */
function rejects(run: () => unknown, message: RegExp, code = "INVALID_DATA", status = 400): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof SluiceError, `expected a SluiceError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.httpStatus, status);
    assert.match(err.message, message);
    return true;
  });
}

describe("validateRecords: accepted shapes", () => {
  test("one record becomes a list of one, with defaults filled in", () => {
    const [r, ...rest] = validateRecords({ variable: "Temperature", value: 21.5 }, now);
    assert.equal(rest.length, 0);
    assert.equal(r!.variable, "temperature", "variables are lower-cased");
    assert.equal(r!.value, 21.5);
    assert.equal(r!.unit, null);
    assert.equal(r!.time.toISOString(), now.toISOString(), "time defaults to arrival");
    assert.match(r!.group, /^[0-9a-f]{24}$/);
    assert.equal(r!.location, null);
    assert.equal(r!.metadata, null);
  });

  test("records of one batch without a group share one generated group; given groups stay", () => {
    const records = validateRecords(
      [{ variable: "a", value: 1 }, { variable: "b", value: 2 }, { variable: "c", value: 3, group: "mine" }, { variable: "d", serie: "old-name" }],
      now,
    );
    assert.equal(records[0]!.group, records[1]!.group);
    assert.equal(records[2]!.group, "mine");
    assert.equal(records[3]!.group, "old-name", "`serie` is read as the group");
    const other = validateRecords({ variable: "a" }, now);
    assert.notEqual(other[0]!.group, records[0]!.group, "another batch gets another group");
  });

  test("generated groups look like TagoIO ids and start with the batch's second (hex), like an ObjectId", () => {
    const [r] = validateRecords({ variable: "a" }, now);
    assert.equal(r!.group.slice(0, 8), Math.floor(now.getTime() / 1000).toString(16));
    assert.equal(validateRecords({ variable: "a" }, now, { newGroup: () => "fixed" })[0]!.group, "fixed");
  });

  test("values: string, number, boolean, null, or absent (null)", () => {
    const records = validateRecords(
      [{ variable: "s", value: "on" }, { variable: "n", value: -3 }, { variable: "b", value: false }, { variable: "z", value: null }, { variable: "x" }],
      now,
    );
    assert.deepEqual(records.map((r) => r.value), ["on", -3, false, null, null]);
  });

  test("times: ISO, zone-less (read as UTC), epoch ms; dates come back as Date", () => {
    const records = validateRecords(
      [
        { variable: "a", time: "2015-11-03T13:44:33.000Z" },
        { variable: "b", time: "2015-11-03 13:44:33" },
        { variable: "c", time: 1446558273000 },
        { variable: "d", time: "2015-11-03T10:44:33-03:00" },
      ],
      now,
    );
    for (const r of records) assert.equal(r.time.toISOString(), "2015-11-03T13:44:33.000Z");
  });

  test("locations: { lat, lng } and GeoJSON points both become { lat, lng }", () => {
    const [a, b] = validateRecords(
      [
        { variable: "gps", location: { lat: 42.29, lng: -85.62 } },
        { variable: "gps", location: { type: "Point", coordinates: [-85.62, 42.29] } },
      ],
      now,
    );
    assert.deepEqual(a!.location, { lat: 42.29, lng: -85.62 });
    assert.deepEqual(b!.location, { lat: 42.29, lng: -85.62 });
  });

  test("unit and metadata are kept; unknown fields are ignored", () => {
    const [r] = validateRecords({ variable: "t", value: 1, unit: "°C", metadata: { color: "red", nested: { a: 1 } }, id: "x", origin: "y" }, now);
    assert.equal(r!.unit, "°C");
    assert.deepEqual(r!.metadata, { color: "red", nested: { a: 1 } });
    assert.ok(!("id" in r!));
  });

  test("an empty list is valid and yields nothing", () => {
    assert.deepEqual(validateRecords([], now), []);
  });
});

describe("validateRecords: rejections name the record and the field", () => {
  test("variable: required, a string, at most 100 characters", () => {
    rejects(() => validateRecords([{ value: 1 }], now), /^record 0: variable is required/);
    rejects(() => validateRecords([{ variable: "" }], now), /^record 0: variable is required/);
    rejects(() => validateRecords([{ variable: 12 }], now), /^record 0: variable .*string/);
    rejects(() => validateRecords([{ variable: "a" }, { variable: "x".repeat(101) }], now), /^record 1: variable must be at most 100 characters/);
    assert.equal(validateRecords({ variable: "x".repeat(100) }, now)[0]!.variable.length, 100);
  });

  test("variable: no spaces", () => {
    rejects(
      () => validateRecords([{ variable: "a" }, { variable: "b" }, { variable: "c" }, { variable: "has space", value: 1 }], now),
      /^record 3: variable must not contain spaces$/,
    );
    rejects(() => validateRecords({ variable: "tab\there" }, now), /^record 0: variable must not contain spaces$/);
  });

  test("variable: none of * ? ! . - = $", () => {
    for (const ch of ["*", "?", "!", ".", "-", "=", "$"]) {
      rejects(() => validateRecords({ variable: `temp${ch}1` }, now), new RegExp(`^record 0: variable must not contain "\\${ch}"`));
    }
    assert.equal(validateRecords({ variable: "under_score:colon/slash" }, now)[0]!.variable, "under_score:colon/slash");
  });

  test("value: at most 6 kB (in bytes), and no objects or arrays", () => {
    assert.equal(validateRecords({ variable: "v", value: "x".repeat(LIMITS.valueBytes) }, now).length, 1);
    rejects(() => validateRecords({ variable: "v", value: "x".repeat(LIMITS.valueBytes + 1) }, now), /^record 0: value must be at most 6144 bytes/);
    rejects(() => validateRecords({ variable: "v", value: "é".repeat(LIMITS.valueBytes / 2 + 1) }, now), /value must be at most/);
    rejects(() => validateRecords({ variable: "v", value: { a: 1 } }, now), /^record 0: value must be a string, a number, a boolean or null/);
    rejects(() => validateRecords({ variable: "v", value: [1] }, now), /value must be/);
  });

  test("unit: a string of at most 25 characters", () => {
    rejects(() => validateRecords({ variable: "v", unit: "u".repeat(26) }, now), /^record 0: unit must be at most 25 characters/);
    rejects(() => validateRecords({ variable: "v", unit: 5 }, now), /^record 0: unit must be a string/);
  });

  test("time: must parse", () => {
    rejects(() => validateRecords({ variable: "v", time: "yesterday-ish" }, now), /^record 0: time must be a date/);
    rejects(() => validateRecords({ variable: "v", time: { when: 1 } }, now), /time must be a date/);
  });

  test("group: a non-empty string of at most 100 characters", () => {
    rejects(() => validateRecords({ variable: "v", group: "g".repeat(101) }, now), /^record 0: group must be at most 100 characters/);
    rejects(() => validateRecords({ variable: "v", group: 7 }, now), /^record 0: group must be a non-empty string/);
  });

  test("location: shapes and ranges", () => {
    rejects(() => validateRecords({ variable: "v", location: { lat: 91, lng: 0 } }, now), /^record 0: location latitude must be a number between -90 and 90/);
    rejects(() => validateRecords({ variable: "v", location: { lat: 0, lng: -181 } }, now), /location longitude must be a number between -180 and 180/);
    rejects(() => validateRecords({ variable: "v", location: { type: "Point", coordinates: [0, 95] } }, now), /latitude/);
    rejects(() => validateRecords({ variable: "v", location: { type: "Polygon", coordinates: [] } }, now), /GeoJSON must be/);
    rejects(() => validateRecords({ variable: "v", location: "42,-85" }, now), /location must be \{ lat, lng \}/);
    rejects(() => validateRecords({ variable: "v", location: { lat: "42", lng: 1 } }, now), /latitude/);
  });

  test("metadata: an object of at most 10 kB as JSON", () => {
    rejects(() => validateRecords({ variable: "v", metadata: [1, 2] }, now), /^record 0: metadata must be an object/);
    rejects(() => validateRecords({ variable: "v", metadata: "text" }, now), /metadata must be an object/);
    rejects(() => validateRecords({ variable: "v", metadata: { big: "x".repeat(LIMITS.metadataBytes) } }, now), /^record 0: metadata must be at most 10240 bytes as JSON/);
  });

  test("a record that is not an object, and a body that is neither record nor list", () => {
    rejects(() => validateRecords([{ variable: "a" }, "text"], now), /^record 1: must be an object/);
    rejects(() => validateRecords("text", now), /body must be a record or an array of records/);
    rejects(() => validateRecords(undefined, now), /body must be/);
  });

  test("too many records: 413 TOO_MANY_RECORDS", () => {
    const many = Array.from({ length: 11 }, () => ({ variable: "v", value: 1 }));
    rejects(() => validateRecords(many, now, { maxRecords: 10 }), /at most 10 records/, "TOO_MANY_RECORDS", 413);
  });
});

describe("validateEdits", () => {
  test("partial edits keep only what was sent; null clears", () => {
    const [edit] = validateEdits({ id: "abc", value: 5, unit: null, location: { lat: 1, lng: 2 }, time: "2024-01-01T00:00:00Z" });
    assert.deepEqual(edit, { id: "abc", value: 5, unit: null, location: { lat: 1, lng: 2 }, time: new Date("2024-01-01T00:00:00Z") });
  });

  test("an id is required and the variable cannot change", () => {
    rejects(() => validateEdits([{ value: 1 }]), /^record 0: id is required/);
    rejects(() => validateEdits([{ id: "a" }, { id: "b", variable: "other" }]), /^record 1: variable cannot be edited/);
    rejects(() => validateEdits({ id: "a", value: { x: 1 } }), /^record 0: value must be/);
  });
});

describe("dates", () => {
  test("parseDate reads ISO, zone-less UTC, epoch ms (number or digits); rejects the rest", () => {
    assert.equal(parseDate("2024-01-02")!.toISOString(), "2024-01-02T00:00:00.000Z");
    assert.equal(parseDate("2024-01-02 03:04")!.toISOString(), "2024-01-02T03:04:00.000Z");
    assert.equal(parseDate("0")!.getTime(), 0);
    assert.equal(parseDate(1700000000000)!.getTime(), 1700000000000);
    assert.equal(parseDate("not a date"), undefined);
    assert.equal(parseDate(""), undefined);
    assert.equal(parseDate(null), undefined);
  });

  test("parseQueryDate also reads relative dates, counted back from now", () => {
    assert.equal(parseQueryDate("1 day", now)!.toISOString(), "2024-04-30T12:00:00.000Z");
    assert.equal(parseQueryDate("2 hours", now)!.toISOString(), "2024-05-01T10:00:00.000Z");
    assert.equal(parseQueryDate("3 weeks ago", now)!.toISOString(), "2024-04-10T12:00:00.000Z");
    assert.equal(parseQueryDate("1 month", now)!.toISOString(), "2024-04-01T12:00:00.000Z");
    assert.equal(parseQueryDate("1 year", now)!.toISOString(), "2023-05-01T12:00:00.000Z");
    const endOfMarch = new Date("2024-03-31T00:00:00Z");
    assert.equal(parseQueryDate("1 month", endOfMarch)!.toISOString(), "2024-02-29T00:00:00.000Z", "the day is clamped to the month");
    assert.equal(parseQueryDate("2024-01-01T00:00:00Z", now)!.toISOString(), "2024-01-01T00:00:00.000Z");
  });
});
