/**
 * TagoIO's list semantics (`page`, `amount`, `fields`, `filter`, `orderBy`) applied to items
 * already mapped to their API shape, so every list route behaves the same way.
 *
 * Filter rule: every key of the filter must match the item. Strings compare case-insensitively
 * and `*` matches any run of characters ("*sensor*"); a filter object matches an item object
 * key by key; a filter array matches when each of its elements matches some element of the
 * item's array (so `tags: [{ key: "site" }]` finds devices having a `site` tag), and a filter
 * object matches an array when some element matches it.
 */
import { invalid } from "../errors.js";
import type { QueryValue } from "./query.js";
import { wildcardMatch } from "../store/wildcard.js";

export { wildcardMatch };

export type ApiItem = Record<string, unknown>;

export interface ListQuery {
  page: number;
  amount: number;
  fields?: string[];
  filter?: { [key: string]: QueryValue };
  orderBy?: string;
}

export const MAX_AMOUNT = 10_000;

/**
 * Longest string a filter may hold. Matching is linear in pattern plus text (`wildcard.ts`);
 * the bound keeps a query string's filters, and the work of preparing them, small.
 */
export const MAX_FILTER_PATTERN = 256;

/** Fastify querystring schema for a list route whose items can be ordered by `orderable`. */
export function listQuerySchema(orderable: readonly string[]) {
  return {
    type: "object",
    properties: {
      page: { type: "integer", minimum: 1, default: 1 },
      amount: { type: "integer", minimum: 1, maximum: MAX_AMOUNT, default: 20 },
      fields: { type: "array", items: { type: "string" } },
      filter: { type: "object" },
      orderBy: { type: "string", pattern: `^(${orderable.join("|")}),(asc|desc)$` },
    },
  } as const;
}

/**
 * `presorted`: the items already come in the default order, which is not one field's (e.g.
 * unread first, then newest); they are sorted only when the query asks for an `orderBy`.
 */
export function applyListQuery(items: ApiItem[], query: ListQuery, options: { defaultOrder: string; alwaysFields: readonly string[]; presorted?: boolean }): ApiItem[] {
  const filter = query.filter ?? {};
  checkFilter(filter);
  const [field, direction] = (query.orderBy ?? options.defaultOrder).split(",") as [string, string];
  const matching = items.filter((item) => matches(item, filter));
  const sign = direction === "desc" ? -1 : 1;
  if (!options.presorted || query.orderBy !== undefined) matching.sort((a, b) => compareValues(a[field], b[field], sign) || compareValues(a.id, b.id, 1));
  const start = (query.page - 1) * query.amount;
  return selectFields(matching.slice(start, start + query.amount), query.fields, options.alwaysFields);
}

/** Each item cut to the `fields` asked for plus `always`; whole when none are asked for. */
export function selectFields(items: ApiItem[], fieldsQuery: string[] | undefined, always: readonly string[]): ApiItem[] {
  const fields = requestedFields(fieldsQuery);
  return fields ? items.map((item) => pick(item, fields, always)) : items;
}

/** `fields` may come as a list (`fields[0]=id`, repeated keys) or comma-separated (`fields=id,name`). */
function requestedFields(fields: string[] | undefined): string[] | undefined {
  if (!fields) return undefined;
  const names = fields.flatMap((f) => f.split(",")).map((f) => f.trim()).filter((f) => f !== "");
  return names.length > 0 ? names : undefined;
}

function pick(item: ApiItem, fields: string[], always: readonly string[]): ApiItem {
  const out: ApiItem = {};
  for (const key of [...always, ...fields]) if (Object.hasOwn(item, key)) out[key] = item[key];
  return out;
}

export function matches(value: unknown, filter: QueryValue): boolean {
  if (Array.isArray(filter)) {
    return Array.isArray(value) && filter.every((wanted) => value.some((element) => matches(element, wanted)));
  }
  if (typeof filter === "object") {
    // `filter[tags][key]=site` (no index) is read as "some tag has key site".
    if (Array.isArray(value)) return value.some((element) => matches(element, filter));
    if (typeof value !== "object" || value === null) return false;
    const record = value as Record<string, unknown>;
    return Object.entries(filter).every(([key, wanted]) => matches(Object.hasOwn(record, key) ? record[key] : undefined, wanted));
  }
  if (value === undefined || (typeof value === "object" && value !== null)) return false;
  return wildcardMatch(filter, String(value));
}

/** Refuses (400) a filter holding a string longer than `MAX_FILTER_PATTERN`, whether or not any item is compared. */
export function checkFilter(filter: QueryValue): void {
  if (typeof filter === "string") {
    if (filter.length > MAX_FILTER_PATTERN) throw invalid(`a filter value may hold at most ${MAX_FILTER_PATTERN} characters`);
    return;
  }
  for (const value of Array.isArray(filter) ? filter : Object.values(filter)) checkFilter(value);
}


// Numeric collation puts "sensor 2" before "sensor 10"; ISO dates still sort chronologically.
const collator = new Intl.Collator("en", { numeric: true });

/** Null/undefined last whatever the direction; numbers and booleans by value; the rest as text. */
function compareValues(a: unknown, b: unknown, sign: 1 | -1): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return (a - b) * sign;
  if (typeof a === "boolean" && typeof b === "boolean") return (Number(a) - Number(b)) * sign;
  return collator.compare(String(a), String(b)) * sign;
}
