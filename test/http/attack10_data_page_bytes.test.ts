import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Attack on issue 10: a `GET /data` page is bounded in records (MAX_QTY 10 000) but not in
// bytes, and is read from SQLite and serialized in one synchronous go. A record may carry a
// 6 KiB value and 10 KiB of metadata (data/validate.ts), so one page is ~150 MB of JSON.
// Measured on a running server (10 000 such records posted in 7.6 s by one device token,
// default plan): one `GET /data?variable=big&qty=10000` answered 153 MB, held the event loop
// ~2 s (an unrelated client's publish→delivery 2.0 s, `GET /status` 2.2 s) and RSS +800 MiB;
// four at once: 7.3 s stall and RSS 728 → 2 523 MiB.

const MiB = 1024 * 1024;
const RECORDS = 2_400;
const PAGE_BYTE_BOUND = 16 * MiB;

describe("attack10: a GET /data page is bounded in bytes, not only in records", () => {
  let sluice: TestSluice;
  let token: string;
  before(async () => {
    sluice = await startSluice();
    ({ token } = await sluice.device());
    const metadata: Record<string, string> = {};
    for (let i = 0; i < 9; i++) metadata[`m${i}`] = "y".repeat(1000);
    const batch = Array.from({ length: 11 }, () => ({ variable: "big", value: "v".repeat(6000), metadata }));
    const body = JSON.stringify(batch); // ~166 KB, under the 200 KiB POST /data limit
    for (let posted = 0; posted < RECORDS; posted += batch.length) {
      const res = await fetch(`${sluice.api}/data`, { method: "POST", headers: { "content-type": "application/json", authorization: token }, body });
      assert.ok(res.ok, `POST /data ${res.status}`);
      await res.arrayBuffer();
    }
  });
  after(async () => sluice.close());

  test(`GET /data?qty=10000 over ${RECORDS} records of ~16 KB: the response stays under ${PAGE_BYTE_BOUND / MiB} MiB`, async () => {
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const res = await fetch(`${sluice.api}/data?variable=big&qty=10000`, { headers: { authorization: token } });
    const bytes = (await res.arrayBuffer()).byteLength;
    h.disable();
    assert.ok(
      bytes <= PAGE_BYTE_BOUND,
      `one page was ${(bytes / MiB).toFixed(1)} MiB (status ${res.status}); event loop held up to ${(h.max / 1e6).toFixed(0)} ms`,
    );
    assert.equal(res.headers.get("x-sluice-truncated"), "bytes", "a cut page says so");
  });

  test("the cut page costs what the records it holds cost: rows past the bound are not read", async () => {
    // Relative, not absolute: qty=10000 (cut at the bound) against a page asking for exactly the
    // records the cut one held. Reading and decoding the 2 400 records, as before the bound,
    // took several times as long; the best of a few runs of each keeps scheduling noise out.
    const timed = async (qty: number) => {
      const start = performance.now();
      const res = await fetch(`${sluice.api}/data?variable=big&qty=${qty}`, { headers: { authorization: token } });
      const { result } = (await res.json()) as { result: unknown[] };
      return { ms: performance.now() - start, records: result.length };
    };
    const best = async (qty: number) => {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await timed(qty));
      return { ms: Math.min(...runs.map((r) => r.ms)), records: runs[0]!.records };
    };
    const cut = await best(10_000);
    assert.ok(cut.records < RECORDS, `the page was cut (${cut.records} records)`);
    const same = await best(cut.records);
    assert.ok(
      cut.ms <= 2 * same.ms + 100,
      `qty=10000 took ${cut.ms.toFixed(0)} ms, qty=${cut.records} (the same records) ${same.ms.toFixed(0)} ms`,
    );
  });
});
