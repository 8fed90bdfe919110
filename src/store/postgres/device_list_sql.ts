import { wildcardMatch } from "../wildcard.js";
import type { DeviceListQuery, DeviceOrder } from "../types.js";

/**
 * `listDevices` as one PostgreSQL statement, as store/sqlite/device_list_sql.ts does it for
 * SQLite: each order walks an index of migration 1 (account, field, id), filters narrow the
 * walk. `*` patterns become LIKE over the JavaScript lower case the repository stores
 * (`name_lower`, `tags_lower`), with LIKE's own `%`, `_` and `\` escaped; PostgreSQL's LIKE
 * never backtracks past a `%` it has matched (its matcher gives up on the first failed
 * literal after a `%`), so a pattern costs at most pattern × text, not more.
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
  if (query.name !== undefined) where.push(`name_lower LIKE ${p(likePattern(query.name))}`);
  if (query.id !== undefined) where.push(`lower(id) LIKE ${p(likePattern(query.id))}`);
  if (query.active !== undefined) {
    // Two possible texts: decided here, not per row.
    const t = wildcardMatch(query.active, "true");
    const f = wildcardMatch(query.active, "false");
    if (!t && !f) where.push("false");
    else if (t !== f) where.push(t ? "active" : "NOT active");
  }
  for (const tag of query.tags ?? []) {
    const parts = ["true"];
    if (tag.key !== undefined) parts.push(`t->>'key' LIKE ${p(likePattern(tag.key))}`);
    if (tag.value !== undefined) parts.push(`t->>'value' LIKE ${p(likePattern(tag.value))}`);
    where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements(tags_lower) AS t WHERE ${parts.join(" AND ")})`);
  }
  const order = ORDER_BY[query.order ?? "name"].replace(/\bD\b/g, query.desc ? "DESC" : "ASC");
  const sql = `SELECT * FROM devices WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ${p(query.limit)} OFFSET ${p(query.offset)}`;
  return { sql, params };
}

/** A `*` pattern as a LIKE pattern over lower-cased text (escape character `\`). */
export function likePattern(pattern: string): string {
  return pattern
    .toLowerCase()
    .split("*")
    .map((segment) => segment.replace(/[\\%_]/g, (c) => `\\${c}`))
    .join("%");
}
