import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type * as Store from "../../console/src/widgets/chart/series_store.js";
import type { DataRecordJson, DownsampleBucketJson, WidgetSourceResultJson } from "../../src/http/api_types.js";
import { loadConsoleModule } from "../helpers/console_module.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The chart widgets' data (console/src/widgets/chart/series_store.ts): buckets of a real
// server's downsampling query land on the grid cell they cover, live records fold into theirs,
// a sliding range drops what fell off its left edge.

let store: typeof Store;
let sluice: TestSluice;
before(async () => {
  store = await loadConsoleModule<typeof Store>("widgets/chart/series_store.ts");
  sluice = await startSluice();
});
after(() => sluice?.close());

const record = (device: string, variable: string, value: number, time: number): DataRecordJson => ({ id: "x", device, variable, value, group: "g", time: new Date(time).toISOString(), created_at: new Date(time).toISOString() });

describe("SeriesStore", () => {
  test("each bucket of the server's answer lands on the grid cell holding its records, for odd spans and bucket counts", async () => {
    const dev = await sluice.device();
    const start = Date.parse("2026-01-01T00:00:00.000Z");
    const end = start + 7 * 86_400_000 - 1 + 12_345;
    const records = Array.from({ length: 1500 }, (_, i) => ({ variable: "t", value: i % 97, time: new Date(start + Math.floor((i * (end - start)) / 1500)).toISOString() }));
    const post = await fetch(`${sluice.api}/device/${dev.deviceId}/data`, { method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify(records) });
    assert.equal(post.status, 200);
    for (const buckets of [1, 7, 613, 1280]) {
      const url = `${sluice.api}/device/${dev.deviceId}/data?query=downsample&variables=t&start_date=${new Date(start).toISOString()}&end_date=${new Date(end).toISOString()}&buckets=${buckets}`;
      const answer = (await (await fetch(url, { headers: { token: sluice.adminToken } })).json()) as { result: DownsampleBucketJson[] };
      const results: WidgetSourceResultJson[] = [{ origin: dev.deviceId, device: dev.deviceId, variables: ["t"], query: "downsample", result: answer.result }];
      const s = store.SeriesStore.fromResults(results, { start, end, live: false }, buckets);
      assert.equal(s.points, buckets, "the whole grid, one cell per bucket");
      const [x, avg, min, max] = s.aligned(true) as number[][];
      let filled = 0;
      for (let i = 0; i < buckets; i++) {
        if (avg![i] === null) continue;
        filled++;
        const b = answer.result.find((r) => Math.abs(Date.parse(r.time) - (x![i]! - s.size / 2)) < 1)!;
        assert.ok(b, `cell ${i} of ${buckets} is a bucket the server answered`);
        assert.ok(Date.parse(b.first_time) >= x![i]! - s.size / 2 - 1 && Date.parse(b.last_time) < x![i]! + s.size / 2 + 1);
        assert.deepEqual([avg![i], min![i], max![i]], [b.avg, b.min, b.max]);
      }
      assert.equal(filled, answer.result.length, `${buckets} buckets: every bucket answered is drawn`);
      // The same answer read with a range a few ms off (the server cut it at its own "now"): each bucket keeps its cell.
      const off = store.SeriesStore.fromResults(results, { start, end: end - 7, live: false }, buckets);
      assert.deepEqual(off.aligned(false)[1], avg);
    }
  });

  test("live records fold into their bucket (average, min, max), new series appear, other devices' stay apart", () => {
    const start = 1_000_000;
    const s = store.SeriesStore.fromResults([{ origin: "d1", device: "d1", variables: ["t"], query: "downsample", result: [] }], { start, end: start + 9999, live: false }, 10);
    let changes = 0;
    s.onChange = () => changes++;
    s.add([record("d1", "t", 10, start + 5000), record("d1", "t", 20, start + 5999), record("d1", "t", 99, start + 6000)]);
    assert.equal(changes, 1, "one change for a batch");
    const [, avg] = s.aligned(false) as (number | null)[][];
    assert.deepEqual(avg, [null, null, null, null, null, 15, 99, null, null, null]);
    const [, , min, max] = s.aligned(true) as (number | null)[][];
    assert.equal(min![5], 10);
    assert.equal(max![5], 20);
    assert.deepEqual(s.latest.get("d1/t"), { value: 99, time: start + 6000 });
    const before = s.structure;
    s.add([record("d2", "t", 1, start + 100)]);
    assert.equal(s.series.length, 2);
    assert.ok(s.structure > before, "a new series asks for a new plot");
    // Past a fixed range's end, before its start, and not a number: ignored.
    s.add([record("d1", "t", 5, start + 10_000), record("d1", "t", 5, start - 1), { ...record("d1", "t", 0, start + 1), value: "on" }]);
    assert.equal(s.points, 10);
    assert.deepEqual((s.aligned(false) as (number | null)[][])[1], [null, null, null, null, null, 15, 99, null, null, null]);
  });

  test("a sliding range grows on the right and drops buckets that ended before its start", () => {
    const start = 0;
    const s = store.SeriesStore.fromResults([{ origin: "d", device: "d", variables: ["v"], query: "downsample", result: [] }], { start, end: 999, live: true }, 10);
    s.add([record("d", "v", 1, 50), record("d", "v", 2, 1050)]);
    assert.equal(s.points, 11, "a bucket added past the end");
    s.trim(1050 - 1000 + 1);
    assert.equal(s.points, 11, "bucket 0 still reaches into the range");
    s.trim(1100 - 1000 + 1);
    assert.equal(s.points, 10);
    const [x, v] = s.aligned(false) as (number | null)[][];
    assert.equal(x![0], 150);
    assert.equal(v!.at(-1), 2);
    assert.equal(v![0], null);
  });
});
