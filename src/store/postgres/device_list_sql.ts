import { wildcardMatch } from "../wildcard.js";
import type { DeviceListQuery, DeviceOrder } from "../types.js";

/**
 * `listDevices` as one PostgreSQL statement, as store/sqlite/device_list_sql.ts does it for
 * SQLite: each order walks an index of migrations 1 and 11 (account, field, id), filters narrow
 * the walk. `*` patterns match the JavaScript lower case the repository stores (`name_lower`,
 * `tags_lower`) as store/wildcard.ts says, in time linear in the text: a pattern without a star
 * is an equality, any other an anchored regular expression of its literal segments. Not LIKE:
 * PostgreSQL's LIKE tries a `%` at every position and compares the rest from each, pattern ×
 * text per row, which is 0.6 to 1.5 s per megabyte-long name for a 256-character filter
 * (test/review/attack_findings.test.ts); nor strpos, which is as slow on a segment like
 * `baaa…`. A regular expression without back references is run by PostgreSQL as one pass of
 * an automaton over the text when only "does it match" is asked, as `~` does.
 */
const ORDER_BY: Record<DeviceOrder, string> = {
  name: "name_key D, name D, id D",
  created_at: "created_at D, id D",
  updated_at: "updated_at D, id D",
  last_input: "last_input D NULLS LAST, id D",
  active: "active D, id D",
  visible: "visible D, id D",
};

export function deviceListSql(accountId: string, query: DeviceListQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [accountId];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = ["account_id = $1"];
  if (query.name !== undefined) where.push(wildcard("name_lower", query.name, p));
  if (query.id !== undefined) where.push(wildcard("lower(id)", query.id, p));
  if (query.active !== undefined) {
    // Two possible texts: decided here, not per row.
    const t = wildcardMatch(query.active, "true");
    const f = wildcardMatch(query.active, "false");
    if (!t && !f) where.push("false");
    else if (t !== f) where.push(t ? "active" : "NOT active");
  }
  for (const tag of query.tags ?? []) {
    const parts = ["true"];
    if (tag.key !== undefined) parts.push(wildcard("(t->>'key')", tag.key, p));
    if (tag.value !== undefined) parts.push(wildcard("(t->>'value')", tag.value, p));
    where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements(tags_lower) AS t WHERE ${parts.join(" AND ")})`);
  }
  const order = ORDER_BY[query.order ?? "name"].replace(/\bD\b/g, query.desc ? "DESC" : "ASC");
  const sql = `SELECT * FROM devices WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ${p(query.limit)} OFFSET ${p(query.offset)}`;
  return { sql, params };
}

/** `column` (lower-cased text) matches the `*` pattern: an equality without a star, else `~`. */
function wildcard(column: string, pattern: string, p: (value: unknown) => string): string {
  const lower = pattern.toLowerCase();
  if (!lower.includes("*")) return `${column} = ${p(lower)}`;
  return `${column} ~ ${p(wildcardRegex(lower))}`;
}

/**
 * A `*` pattern as an anchored regular expression (PostgreSQL's ARE): its literal segments in
 * order, `.*` between them. Every ASCII character that is not a letter or a digit is escaped (a
 * backslash before such a character stands for the character itself); other characters are
 * literal as they are. `.` matches newlines too in PostgreSQL's default mode, as `*` must.
 */
export function wildcardRegex(pattern: string): string {
  const literal = (segment: string) => segment.replace(/[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/g, (c) => `\\${c}`);
  return `^${pattern.split("*").map(literal).join(".*")}$`;
}
