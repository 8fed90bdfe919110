/**
 * PostgreSQL array literals (`{1,2,NULL}`, `{"a","b\"c"}`) built from whole columns, to pass
 * as one text parameter cast to an array type (`$1::bigint[]`). node-postgres builds the same
 * text from a JS array, but prepares each element on its own (a type check and, for strings, a
 * regex replace each); an insert commit sends a dozen such columns of a thousand elements
 * or more, on the ingest path's event loop.
 */

/** Numbers (bigint, float8, smallint columns); null is SQL NULL. String() spells NaN and ±Infinity as float8 reads them. */
export function numberArray(values: readonly (number | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : String(v);
  }
  return out + "}";
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** Strings, every element quoted (so "NULL", "" and spaces stay strings); null is SQL NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPED, "\\$&")}"` : `"${v}"`;
  }
  return out + "}";
}
