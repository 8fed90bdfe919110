import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Inspector } from "../../src/inspector/inspector.js";
import type { DeviceRow } from "../../src/store/types.js";
import { backends, type BackendHandle, type TestStore, seedDevice } from "../helpers/backends.js";

// The inspector switches' store, run once per backend (test/helpers/backends.ts): a device's
// live inspector switched off stays off across a restart, and goes with the device.

const T = Date.parse("2025-03-01T00:00:00.000Z");

for (const h0 of backends()) {
  describe(`inspector switches on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestStore;
    let n = 0;

    before(async () => {
      h = await h0.start();
      store = await h.store();
    });
    after(async () => {
      await h.stop();
    });

    const device = (): Promise<DeviceRow> => seedDevice(store, { accountId: `acc${++n}`, deviceId: `dev${++n}` }, new Date(T));

    test("off is listed (twice is once), on is not; another store on the same database reads the same", async () => {
      const [a, b] = [await device(), await device()];
      assert.deepEqual(await store.inspectorSwitches.disabled(), []);
      await store.inspectorSwitches.save(a.id, false);
      await store.inspectorSwitches.save(a.id, false);
      await store.inspectorSwitches.save(b.id, false);
      await store.inspectorSwitches.save(b.id, true);
      await store.inspectorSwitches.save(b.id, true);
      assert.deepEqual(await store.inspectorSwitches.disabled(), [a.id]);
      const restarted = await h.store();
      assert.deepEqual(await restarted.inspectorSwitches.disabled(), [a.id]);
      await store.inspectorSwitches.save(a.id, true);
      assert.deepEqual(await restarted.inspectorSwitches.disabled(), []);
    });

    test("a deleted device's switch goes with it", async () => {
      const d = await device();
      await store.inspectorSwitches.save(d.id, false);
      assert.ok((await store.inspectorSwitches.disabled()).includes(d.id));
      await store.identity.deleteDevice(d.accountId, d.id);
      assert.ok(!(await store.inspectorSwitches.disabled()).includes(d.id));
    });

    test("the Inspector persists through it and starts from what it read", async () => {
      const d = await device();
      const inspector = new Inspector({ disabled: await store.inspectorSwitches.disabled(), persistEnabled: (id, on) => store.inspectorSwitches.save(id, on) });
      await inspector.setEnabled(d.id, false);
      const next = new Inspector({ disabled: await (await h.store()).inspectorSwitches.disabled() });
      assert.equal(next.isEnabled(d.id), false);
      await inspector.setEnabled(d.id, true);
      assert.equal(new Inspector({ disabled: await store.inspectorSwitches.disabled() }).isEnabled(d.id), true);
    });
  });
}
