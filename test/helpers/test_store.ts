/**
 * Which store `startSluice` gives a node when the test does not say: SQLite in the data dir (the
 * default), or with `SLUICE_TEST_STORE=postgres` a database of its own on one private PostgreSQL
 * per test process, so the end-to-end suite runs unchanged against PostgreSQL (docs/cluster.md,
 * "Tests").
 *
 * The server starts at the first node and is never stopped explicitly: it is started unref'd,
 * so the test process exits when its tests are done, and the closing pipe stops the server and
 * removes its files (test/helpers/postgres.ts).
 */
import { startPostgres, type TestPostgres } from "./postgres.js";

let server: Promise<TestPostgres> | undefined;
/** A data dir's database: a node restarted on its data dir finds its data again. */
const databases = new Map<string, string>();

/** True when the suite runs on PostgreSQL (`SLUICE_TEST_STORE=postgres`). */
export function onPostgres(): boolean {
  const store = process.env.SLUICE_TEST_STORE ?? "";
  if (store !== "" && store !== "postgres" && store !== "sqlite") throw new Error(`SLUICE_TEST_STORE must be "postgres" or "sqlite", not ${JSON.stringify(store)}`);
  return store === "postgres";
}

/** The `postgres.url` for a node on `dataDir`: "" (SQLite) unless the suite runs on PostgreSQL. */
export async function testStoreUrl(dataDir: string): Promise<string> {
  if (!onPostgres()) return "";
  const known = databases.get(dataDir);
  if (known !== undefined) return known;
  server ??= startPostgres({ unref: true });
  const url = await (await server).database();
  databases.set(dataDir, url);
  return url;
}
