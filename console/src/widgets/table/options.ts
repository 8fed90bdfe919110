import { finite, record } from "../display_read.js";

export const COLUMNS = ["variable", "value", "unit", "time", "device"] as const;
export type Column = (typeof COLUMNS)[number];

export interface TableOptions {
  columns: Column[];
  /** Rows a page (the API's `amount`, per data source). */
  amount: number;
}

export const MAX_AMOUNT = 100;

export function defaults(): TableOptions {
  return { columns: ["variable", "value", "unit", "time"], amount: 10 };
}

export function parse(display: unknown): TableOptions {
  const d = record(display);
  const columns = Array.isArray(d.columns) ? COLUMNS.filter((c) => (d.columns as unknown[]).includes(c)) : defaults().columns;
  return { columns: columns.length > 0 ? columns : defaults().columns, amount: Math.min(MAX_AMOUNT, Math.max(1, Math.round(finite(d.amount, 10)))) };
}
