import type { DeviceListQuery, DeviceOrder } from "../types.js";

/**
 * `listDevices` as one SQL statement. Every order walks an index of migration 15 (the account,
 * the field, the id), so a page costs its rows, not the account's devices; filters are
 * `sluice_wildcard` calls (store/wildcard.ts, linear: SQLite's LIKE backtracks), checked row by
 * row along that index until the page is full.
 */
/** Each order's ORDER BY, `D` its direction: the index's columns, so SQLite walks it. */
const ORDER_BY: Record<DeviceOrder, string> = {
  // The name breaks ties of its key (names that differ in case or accents only), as the index does.
  name: "name_key D, name D, id D",
  created_at: "created_at D, id D",
  updated_at: "updated_at D, id D",
  // NULLS LAST either way: a device never heard from is neither the newest input nor the
  // oldest. SQLite still walks the index for it.
  last_input: "last_input D NULLS LAST, id D",
  active: "active D, id D",
  // Kept in `extra`, true unless a client said otherwise; rarely asked for, so not indexed.
  visible: "coalesce(json_extract(extra, '$.visible'), 1) D, id D",
};

export function deviceListSql(accountId: string, query: DeviceListQuery): { sql: string; params: unknown[] } {
  const where = ["account_id = ?"];
  const params: unknown[] = [accountId];
  if (query.name !== undefined) wildcard("name", query.name, where, params);
  if (query.id !== undefined) wildcard("id", query.id, where, params);
  if (query.active !== undefined) {
    where.push("sluice_wildcard(?, CASE active WHEN 1 THEN 'true' ELSE 'false' END)");
    params.push(query.active);
  }
  for (const tag of query.tags ?? []) {
    const parts = ["1"];
    if (tag.key !== undefined) {
      parts.push("sluice_wildcard(?, json_extract(t.value, '$.key'))");
      params.push(tag.key);
    }
    if (tag.value !== undefined) {
      parts.push("sluice_wildcard(?, json_extract(t.value, '$.value'))");
      params.push(tag.value);
    }
    where.push(`EXISTS (SELECT 1 FROM json_each(devices.tags) AS t WHERE ${parts.join(" AND ")})`);
  }
  const order = ORDER_BY[query.order ?? "name"].replace(/\bD\b/g, query.desc ? "DESC" : "ASC");
  params.push(query.limit, query.offset);
  // The page's rowids first, from the index alone where the filters allow (a deep OFFSET then
  // steps over index entries, not rows), then its rows; sorted again, 50 rows cost nothing.
  const page = `SELECT rowid AS r FROM devices WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ? OFFSET ?`;
  return { sql: `SELECT devices.* FROM (${page}) AS page JOIN devices ON devices.rowid = page.r ORDER BY ${order}`, params };
}

/**
 * `column` matches the `*` pattern, as `wildcardMatch` says. Calling JavaScript costs more than
 * a microsecond a row (~150 ms over 100 000 names on the 2-core machine), so native SQL on the
 * name's stored lower case (`name_lower`, JavaScript's) does what it can alone: a pattern without
 * a star is an equality, `*text*` an `instr`. Any other pattern first needs its longest literal
 * segment somewhere in the name (`instr`, linear), and only the rows that have it are matched by
 * `sluice_wildcard`. Ids are matched by `sluice_wildcard` alone (rarely filtered).
 */
function wildcard(column: "name" | "id", pattern: string, where: string[], params: unknown[]): void {
  if (column === "name") {
    const lower = pattern.toLowerCase();
    const segments = lower.split("*");
    if (segments.length === 1) {
      where.push("name_lower = ?");
      params.push(lower);
      return;
    }
    if (segments.length === 3 && segments[0] === "" && segments[2] === "") {
      where.push("instr(name_lower, ?) > 0");
      params.push(segments[1]);
      return;
    }
    const longest = segments.reduce((a, b) => (b.length > a.length ? b : a), "");
    if (longest !== "") {
      where.push("instr(name_lower, ?) > 0");
      params.push(longest);
    }
  }
  where.push(`sluice_wildcard(?, ${column})`);
  params.push(pattern);
}
