import type { DeviceListQuery, DeviceOrder } from "../types.js";

/**
 * `listDevices` as one SQL statement. Every order walks an index of migration 15 (the account,
 * the field, the id), so a page costs its rows, not the account's devices; filters are
 * `sluice_wildcard` calls (store/wildcard.ts, linear: SQLite's LIKE backtracks), checked row by
 * row along that index until the page is full.
 */
const ORDER_EXPR: Record<DeviceOrder, string> = {
  name: "name_key",
  created_at: "created_at",
  updated_at: "updated_at",
  last_input: "last_input",
  active: "active",
  // Kept in `extra`, true unless a client said otherwise; rarely asked for, so not indexed.
  visible: "coalesce(json_extract(extra, '$.visible'), 1)",
};

export function deviceListSql(accountId: string, query: DeviceListQuery): { sql: string; params: unknown[] } {
  const where = ["account_id = ?"];
  const params: unknown[] = [accountId];
  if (query.name !== undefined) {
    where.push("sluice_wildcard(?, name)");
    params.push(query.name);
  }
  if (query.id !== undefined) {
    where.push("sluice_wildcard(?, id)");
    params.push(query.id);
  }
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
  const direction = query.desc ? "DESC" : "ASC";
  // NULLS LAST either way (a device never heard from is not the newest nor the oldest input);
  // SQLite still walks the index for it.
  const order = `${ORDER_EXPR[query.order ?? "name"]} ${direction} NULLS LAST, id ${direction}`;
  params.push(query.limit, query.offset);
  return { sql: `SELECT * FROM devices WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ? OFFSET ?`, params };
}
