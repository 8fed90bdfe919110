import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SluiceError } from "../../src/errors.js";
import type { DeviceRow } from "../../src/store/types.js";
import { backends, type BackendHandle, type TestStore, seedDevice } from "../helpers/backends.js";

// The device params store's contract, run once per backend (test/helpers/backends.ts). The HTTP
// routes (test/http/*) and the parsers' `device.params` sit on it.

const T = Date.parse("2025-03-01T00:00:00.000Z");

for (const h0 of backends()) {
  describe(`device params on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestStore;
    let n = 0;
    const id = (prefix: string) => `${prefix}${++n}`;

    before(async () => {
      h = await h0.start();
      store = await h.store();
    });
    after(async () => {
      await h.stop();
    });

    const device = (): Promise<DeviceRow> => seedDevice(store, { accountId: id("acc"), deviceId: id("dev") }, new Date(T));

    test("save creates by key, listed in creation order; the same key again updates it, unread unless sent says so", async () => {
      const d = await device();
      const [a, b] = await store.params.save(d.id, [{ key: "interval", value: "60" }, { key: "mode", value: "eco", sent: true }]);
      assert.deepEqual(await store.params.list(d.id), [a, b]);
      assert.deepEqual(b, { id: b!.id, key: "mode", value: "eco", sent: true });
      const [again] = await store.params.save(d.id, [{ key: "mode", value: "boost" }]);
      assert.deepEqual(again, { id: b!.id, key: "mode", value: "boost", sent: false }, "one param per key: no twin");
      assert.deepEqual(await store.params.list(d.id), [a, again]);
      assert.deepEqual(await store.params.list(await device().then((x) => x.id)), [], "another device has none");
    });

    test("save by id changes key or value; an unknown id refuses the whole save", async () => {
      const d = await device();
      const [p] = await store.params.save(d.id, [{ key: "k", value: "1" }]);
      const [renamed] = await store.params.save(d.id, [{ id: p!.id, key: "k2" }]);
      assert.deepEqual(renamed, { id: p!.id, key: "k2", value: "1", sent: false });
      await assert.rejects(store.params.save(d.id, [{ key: "new", value: "x" }, { id: "nope", value: "2" }]),
        (err: unknown) => err instanceof SluiceError && err.code === "NOT_FOUND");
      assert.deepEqual(await store.params.list(d.id), [renamed], "all or nothing: the first input was not kept");
      const other = await device();
      await assert.rejects(store.params.save(other.id, [{ id: p!.id, value: "2" }]), /not found/i, "a param is found through its device only");
    });

    test("the sent filter, markSent, remove", async () => {
      const d = await device();
      const [a, b, c] = await store.params.save(d.id, [{ key: "a", value: "1" }, { key: "b", value: "2", sent: true }, { key: "c", value: "3" }]);
      assert.deepEqual(await store.params.list(d.id, true), [b]);
      assert.deepEqual(await store.params.list(d.id, false), [a, c]);
      assert.equal(await store.params.markSent(d.id, c!.id, true), true);
      assert.deepEqual((await store.params.list(d.id, true)).map((p) => p.key), ["b", "c"]);
      assert.equal(await store.params.markSent(d.id, "nope", true), false);
      assert.equal(await store.params.markSent((await device()).id, a!.id, true), false, "another device's param is not marked");
      assert.equal(await store.params.remove(d.id, a!.id), true);
      assert.equal(await store.params.remove(d.id, a!.id), false);
      assert.deepEqual((await store.params.list(d.id)).map((p) => p.key), ["b", "c"]);
    });

    test("a deleted device's params go with it", async () => {
      const d = await device();
      await store.params.save(d.id, [{ key: "a", value: "1" }]);
      assert.equal(await store.identity.deleteDevice(d.accountId, d.id), true);
      assert.deepEqual(await store.params.list(d.id), []);
      assert.deepEqual(await h.rows("SELECT id FROM device_params WHERE device = ?", [d.id]), []);
    });

    test("two writers (on PostgreSQL: two pools, as two nodes) saving the same new keys at once make one param per key", async () => {
      const d = await device();
      const second = await h.store();
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      await Promise.all([store, second, store, second].map((s, i) => s.params.save(d.id, keys.map((key) => ({ key, value: String(i) })))));
      const listed = await store.params.list(d.id);
      assert.deepEqual(listed.map((p) => p.key), keys);
    });
  });
}
