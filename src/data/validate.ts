/**
 * Turns what a client sent into records Sluice can store, with TagoIO's rules (SPEC, "The data
 * format"). One bad record rejects the whole batch: storing the good half of a batch would
 * leave the device's data in a state no client asked for, and the client could not tell which
 * half went in. The error names the record (its index in the array, from 0) and the field.
 */
import { randomBytes } from "node:crypto";
import { SluiceError } from "../errors.js";
import { parseDate } from "./dates.js";
import type { GeoPoint, NormalizedRecord, RecordEdit, RecordValue } from "./types.js";

export const LIMITS = {
  variableChars: 100,
  valueBytes: 6 * 1024,
  unitChars: 25,
  groupChars: 100,
  metadataBytes: 10 * 1024,
  /** A 200 kB body holds about 8 000 minimal records; this bounds callers that have no body limit. */
  records: 10_000,
} as const;

/** The characters TagoIO refuses in a variable name (whitespace is refused too). */
const FORBIDDEN_IN_VARIABLE = /[*?!.\-=$]/;

export interface ValidateOptions {
  /** At most this many records per batch (default `LIMITS.records`). */
  maxRecords?: number;
  /** Makes the group shared by the batch's records that have none (default: see `generatedGroup`). */
  newGroup?: (now: Date) => string;
}

/** A field's problem, before the record index is known. */
class FieldError extends Error {}

export const invalidData = (message: string) => new SluiceError("INVALID_DATA", message, 400);

/** One record or an array of them → normalized records; throws INVALID_DATA naming the record and field. */
export function validateRecords(input: unknown, now: Date, options: ValidateOptions = {}): NormalizedRecord[] {
  const list = Array.isArray(input) ? input : [input];
  if (!Array.isArray(input) && !isPlainObject(input)) throw invalidData("body must be a record or an array of records");
  const maxRecords = options.maxRecords ?? LIMITS.records;
  if (list.length > maxRecords) {
    throw new SluiceError("TOO_MANY_RECORDS", `at most ${maxRecords} records may be sent at once (got ${list.length})`, 413);
  }
  let sharedGroup: string | undefined;
  const groupForBatch = () => (sharedGroup ??= (options.newGroup ?? generatedGroup)(now));
  return list.map((item, index) => withIndex(index, () => normalizeRecord(item, now, groupForBatch)));
}

/** One edit or an array of them (`PUT /data`) → edits; each needs an `id`, `variable` cannot change. */
export function validateEdits(input: unknown): RecordEdit[] {
  const list = Array.isArray(input) ? input : [input];
  if (!Array.isArray(input) && !isPlainObject(input)) throw invalidData("body must be an edit or an array of edits");
  if (list.length > LIMITS.records) throw new SluiceError("TOO_MANY_RECORDS", `at most ${LIMITS.records} records may be edited at once`, 413);
  return list.map((item, index) => withIndex(index, () => normalizeEdit(item)));
}

function withIndex<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof FieldError) throw invalidData(`record ${index}: ${err.message}`);
    throw err;
  }
}

function normalizeRecord(item: unknown, now: Date, groupForBatch: () => string): NormalizedRecord {
  if (!isPlainObject(item)) throw new FieldError("must be an object with a variable");
  const group = pickGroup(item);
  return {
    variable: checkVariable(item.variable),
    value: item.value === undefined ? null : checkValue(item.value),
    unit: item.unit === undefined ? null : checkUnit(item.unit),
    time: item.time === undefined || item.time === null ? new Date(now.getTime()) : checkTime(item.time),
    group: group === undefined || group === null ? groupForBatch() : checkGroup(group),
    location: item.location === undefined ? null : checkLocation(item.location),
    metadata: item.metadata === undefined ? null : checkMetadata(item.metadata),
  };
}

function normalizeEdit(item: unknown): RecordEdit {
  if (!isPlainObject(item)) throw new FieldError("must be an object with an id");
  if (typeof item.id !== "string" || item.id === "") throw new FieldError("id is required (the id of the record to edit)");
  if (item.variable !== undefined) throw new FieldError("variable cannot be edited; delete the record and send a new one");
  const edit: RecordEdit = { id: item.id };
  const group = pickGroup(item);
  if (item.value !== undefined) edit.value = checkValue(item.value);
  if (item.unit !== undefined) edit.unit = checkUnit(item.unit);
  if (item.time !== undefined) edit.time = checkTime(item.time);
  if (group !== undefined) {
    if (group === null) throw new FieldError("group cannot be removed, only changed");
    edit.group = checkGroup(group);
  }
  if (item.location !== undefined) edit.location = checkLocation(item.location);
  if (item.metadata !== undefined) edit.metadata = checkMetadata(item.metadata);
  return edit;
}

/** `serie` is the name TagoIO used before `group`; older devices still send it. */
function pickGroup(item: Record<string, unknown>): unknown {
  return item.group !== undefined ? item.group : item.serie;
}

function checkVariable(raw: unknown): string {
  if (typeof raw !== "string" || raw === "") throw new FieldError("variable is required and must be a non-empty string");
  if (raw.length > LIMITS.variableChars) throw new FieldError(`variable must be at most ${LIMITS.variableChars} characters`);
  if (/\s/.test(raw)) throw new FieldError("variable must not contain spaces");
  noNul(raw, "variable");
  const forbidden = FORBIDDEN_IN_VARIABLE.exec(raw);
  if (forbidden) throw new FieldError(`variable must not contain "${forbidden[0]}" (none of * ? ! . - = $)`);
  return raw.toLowerCase();
}

function checkValue(raw: unknown): RecordValue | null {
  if (raw === null) return null;
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) throw new FieldError("value must be a finite number");
    return raw;
  }
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    // Byte length, not characters: the limit protects storage, and a character may take 4 bytes.
    if (Buffer.byteLength(raw) > LIMITS.valueBytes) throw new FieldError(`value must be at most ${LIMITS.valueBytes} bytes`);
    noNul(raw, "value");
    return raw;
  }
  throw new FieldError("value must be a string, a number, a boolean or null");
}

function checkUnit(raw: unknown): string | null {
  if (raw === null) return null;
  if (typeof raw !== "string") throw new FieldError("unit must be a string");
  if (raw.length > LIMITS.unitChars) throw new FieldError(`unit must be at most ${LIMITS.unitChars} characters`);
  noNul(raw, "unit");
  return raw;
}

function checkTime(raw: unknown): Date {
  const date = parseDate(raw);
  if (!date) throw new FieldError("time must be a date (ISO 8601 such as 2024-05-01T12:00:00Z, or epoch milliseconds)");
  return date;
}

function checkGroup(raw: unknown): string {
  if (typeof raw !== "string" || raw === "") throw new FieldError("group must be a non-empty string");
  if (raw.length > LIMITS.groupChars) throw new FieldError(`group must be at most ${LIMITS.groupChars} characters`);
  noNul(raw, "group");
  return raw;
}

/** `{ lat, lng }` or a GeoJSON Point (`coordinates: [lng, lat]`); `null` for none. */
function checkLocation(raw: unknown): GeoPoint | null {
  if (raw === null) return null;
  if (!isPlainObject(raw)) throw new FieldError("location must be { lat, lng } or a GeoJSON Point");
  let lat: unknown;
  let lng: unknown;
  if (raw.type !== undefined || raw.coordinates !== undefined) {
    const coords = raw.coordinates;
    if (raw.type !== "Point" || !Array.isArray(coords) || coords.length < 2) {
      throw new FieldError('location as GeoJSON must be { "type": "Point", "coordinates": [lng, lat] }');
    }
    [lng, lat] = coords;
  } else {
    lat = raw.lat;
    lng = raw.lng;
  }
  if (typeof lat !== "number" || !Number.isFinite(lat) || lat < -90 || lat > 90) {
    throw new FieldError("location latitude must be a number between -90 and 90");
  }
  if (typeof lng !== "number" || !Number.isFinite(lng) || lng < -180 || lng > 180) {
    throw new FieldError("location longitude must be a number between -180 and 180");
  }
  return { lat, lng };
}

function checkMetadata(raw: unknown): Record<string, unknown> | null {
  if (raw === null) return null;
  if (!isPlainObject(raw)) throw new FieldError("metadata must be an object");
  let json: string;
  try {
    json = JSON.stringify(raw);
  } catch {
    throw new FieldError("metadata must be JSON-serializable");
  }
  if (Buffer.byteLength(json) > LIMITS.metadataBytes) throw new FieldError(`metadata must be at most ${LIMITS.metadataBytes} bytes as JSON`);
  return raw;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * 24 hex digits like TagoIO's ids, and like a Mongo ObjectId they start with the creation
 * second: the bucket store indexes groups group-first, so time-ordered groups are appended at
 * the end of that index instead of dirtying a random page per record.
 */
export function generatedGroup(now: Date): string {
  const seconds = Math.max(0, Math.floor(now.getTime() / 1000)) % 2 ** 32;
  // A random process prefix and a counter instead of fresh random bytes per batch: as unique,
  // and the random source was 5% of the ingest path's CPU.
  groupCounter = (groupCounter + 1) % 2 ** 40;
  return seconds.toString(16).padStart(8, "0") + GROUP_PREFIX + groupCounter.toString(16).padStart(10, "0");
}

const GROUP_PREFIX = randomBytes(3).toString("hex");
let groupCounter = randomBytes(4).readUInt32BE(0);

/**
 * U+0000 in a stored string: PostgreSQL's text cannot hold it (SQLite can), so both stores
 * refuse it alike rather than one storing what the other fails on (docs/cluster.md, "Schema").
 */
function noNul(raw: string, field: string): void {
  if (raw.includes("\0")) throw new FieldError(`${field} must not contain the NUL character (U+0000)`);
}
