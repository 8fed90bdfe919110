import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SqliteBucketStore } from "../../src/data/sqlite/bucket_store.js";
import type { NormalizedRecord } from "../../src/data/types.js";
import { openDatabase, writeTransaction, type Db } from "../../src/store/sqlite/open.js";

// Inserts commit in the writer thread while the event loop's own connections keep writing to
// the same file: every write must wait its turn, none may fail with "database is locked".

let dir: string;
let file: string;
let store: SqliteBucketStore;
let other: Db;
const pause = new Int32Array(new SharedArrayBuffer(4));

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-writer-"));
  file = join(dir, "sluice.db");
  store = SqliteBucketStore.open(file, { retentionSweepMs: 0 });
  other = openDatabase(file);
  other.exec("CREATE TABLE IF NOT EXISTS side (n INTEGER NOT NULL)");
});
after(async () => {
  await store.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

const rec = (i: number): NormalizedRecord => ({ variable: "n", value: i, unit: null, time: new Date(1_700_000_000_000 + i), group: "g", location: null, metadata: null });

describe("the bucket writer thread", () => {
  test("read-then-write transactions of other connections wait for its commits instead of failing", async () => {
    // Read first, write after: the pattern a deferred transaction gets SQLITE_BUSY_SNAPSHOT for
    // when another connection commits in between.
    const readThenWrite = writeTransaction(other, () => {
      const { n } = other.prepare("SELECT count(*) AS n FROM side").get() as { n: number };
      Atomics.wait(pause, 0, 0, 2); // long enough for the writer thread to commit in between
      other.prepare("INSERT INTO side (n) VALUES (?)").run(n);
    });
    let inserting = true;
    const producers = Array.from({ length: 20 }, async (_, d) => {
      let i = 0;
      while (inserting) await store.insert(`dev${d}`, Array.from({ length: 50 }, () => rec(i++)));
    });
    try {
      for (let k = 0; k < 200; k++) {
        readThenWrite();
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      inserting = false;
      await Promise.all(producers);
    }
    assert.equal((other.prepare("SELECT count(*) AS n FROM side").get() as { n: number }).n, 200);
    let stored = 0;
    for (let d = 0; d < 20; d++) stored += await store.count(`dev${d}`);
    assert.ok(stored > 0);
  });

  test("what a resolved insert stored is visible to the event loop's reads at once", async () => {
    const stored = await store.insert("fresh", [rec(1), rec(2)]);
    assert.equal(await store.count("fresh"), 2);
    assert.equal((await store.lastValue("fresh", "n"))?.id, stored[1]!.id);
  });

  test("a device deleted while its inserts are on their way: later inserts go to a new bucket", async () => {
    const pending = store.insert("gone", [rec(1)]);
    await store.dropDevice("gone");
    await pending.catch(() => undefined);
    assert.equal(await store.count("gone"), 0);
    await store.insert("gone", [rec(5)]);
    assert.equal(await store.count("gone"), 1);
  });
});
