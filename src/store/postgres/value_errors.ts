/**
 * PostgreSQL errors that a client's value caused rather than a fault of the server: text holding
 * NUL (which PostgreSQL's text and jsonb cannot keep, while SQLite and JavaScript can), or a value
 * past a size PostgreSQL itself bounds. Every route reaches the stores through plain pool queries,
 * so the HTTP envelope maps these once, to 400 (review of issue 14).
 */
const VALUE_ERRORS: Record<string, string> = {
  // invalid byte sequence for encoding "UTF8": 0x00 (a NUL in text)
  "22021": "a value holds a character the store cannot keep (NUL, \\u0000)",
  // unsupported Unicode escape sequence (\u0000 inside jsonb)
  "22P05": "a value holds a character the store cannot keep (NUL, \\u0000)",
  // program_limit_exceeded (an index row or a value past PostgreSQL's own bounds)
  "54000": "a value is too large to store",
};

/** The client-facing message for a PostgreSQL error caused by a request's values, or undefined. */
export function valueErrorMessage(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  // pg's DatabaseError carries the SQLSTATE as `code`; its `severity` tells it from Node's own errors.
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof code !== "string" || typeof severity !== "string") return undefined;
  return VALUE_ERRORS[code];
}
