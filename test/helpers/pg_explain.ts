import pg from "pg";

/**
 * PostgreSQL's plan for `sql` on the database at `url`, as text, its $n parameters written in
 * as literals, with sequential scans, bitmap scans and sorts turned off for the session: the test tables are
 * too small for the planner to choose an index on its own, so this shows whether an index CAN
 * serve the statement in the order asked (what the plan tests ask), not what a tiny table costs.
 */
export async function explainPg(url: string, sql: string, params: unknown[]): Promise<string> {
  const literal = (v: unknown): string =>
    Array.isArray(v) ? `ARRAY[${v.map(literal).join(", ")}]` : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  const inlined = sql.replace(/\$(\d+)/g, (_, n: string) => literal(params[Number(n) - 1]));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET enable_seqscan = off");
    await client.query("SET enable_bitmapscan = off");
    await client.query("SET enable_sort = off");
    const result = await client.query(`EXPLAIN ${inlined}`);
    return (result.rows as { "QUERY PLAN": string }[]).map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}
