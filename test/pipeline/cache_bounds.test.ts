import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { CachedParamStore } from "../../src/data/cached_param_store.js";
import type { DeviceParam, ParamStore } from "../../src/data/params.js";
import type { IdentityService } from "../../src/identity/service.js";
import type { Action } from "../../src/pipeline/action_model.js";
import { ActionService } from "../../src/pipeline/action_service.js";
import type { ActionRegistry } from "../../src/pipeline/actions/registry.js";
import { DeviceCache } from "../../src/pipeline/device_cache.js";
import type { ActionRepository } from "../../src/store/sqlite/actions.js";
import { ReadCache } from "../../src/store/read_cache.js";
import type { DeviceRow } from "../../src/store/types.js";

// Caches on the message path were bounded by entries only (issue 10): 4 096 topics of 64 KiB
// per account, 50 000 device rows holding parser scripts of up to a request body. Each is
// bounded in bytes now (config `pipeline.*`).

const MiB = 1024 * 1024;

describe("ReadCache bytes", () => {
  test("the oldest entries go once the values pass maxBytes; a value over the whole budget is returned, not kept", async () => {
    const cache = new ReadCache<string>({ maxBytes: 100_000, sizeOf: (v) => v.length * 2 });
    for (let i = 0; i < 50; i++) await cache.get(`k${i}`, async () => "x".repeat(10_000));
    assert.ok(cache.bytes <= 100_000, `${cache.bytes} bytes`);
    assert.ok(cache.size >= 4 && cache.size < 6, `${cache.size} entries`);
    const big = await cache.get("big", async () => "y".repeat(100_000));
    assert.equal(big.length, 100_000);
    assert.ok(cache.bytes <= 100_000);
    cache.delete("k49");
    let reads = 0;
    await cache.get("k49", async () => (reads++, "z"));
    assert.equal(reads, 1);
  });

  test("a failed read is forgotten and counts nothing", async () => {
    const cache = new ReadCache<string>({ maxBytes: 1000, sizeOf: (v) => v.length });
    await assert.rejects(cache.get("a", async () => Promise.reject(new Error("no"))));
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });
});

describe("device cache (pipeline.deviceCacheBytes)", () => {
  test("devices whose parser scripts are 256 KiB: the cache holds at most its bytes, and every device is still served", async () => {
    const identity = Object.assign(new EventEmitter(), {
      getDevice: async (accountId: string, id: string): Promise<DeviceRow> => ({
        id, accountId, name: id, active: true, tags: [], extra: { parse_function: "/*x*/".repeat(256 * 1024 / 5) },
        createdAt: new Date(), updatedAt: new Date(),
      }),
    }) as unknown as IdentityService;
    const cache = new DeviceCache(identity, { maxBytes: 4 * MiB });
    for (let i = 0; i < 100; i++) assert.equal((await cache.get("a", `d${i}`))?.id, `d${i}`);
    assert.ok(cache.bytes <= 4 * MiB, `${cache.bytes} bytes`);
    assert.ok(cache.bytes > 2 * MiB, "the cache is still used");
  });
});

describe("param cache (pipeline.paramCacheBytes)", () => {
  test("devices with many long params: at most the bytes are kept", async () => {
    const params = Array.from({ length: 100 }, (_, i): DeviceParam => ({ id: `p${i}`, key: `k${i}`, value: "v".repeat(10_000), sent: false }));
    const inner = { list: async () => params } as unknown as ParamStore;
    const cache = new CachedParamStore(inner, { maxBytes: 8 * MiB });
    for (let i = 0; i < 50; i++) assert.equal((await cache.list(`d${i}`)).length, 100);
    assert.ok(cache.bytes <= 8 * MiB, `${cache.bytes} bytes`);
    assert.ok(cache.bytes > 4 * MiB);
  });
});

describe("action topic cache (pipeline.actionTopicCacheBytes)", () => {
  function serviceWith(accounts: string[], budget: number): ActionService {
    const actions = accounts.map((accountId) => ({
      id: `act-${accountId}`, accountId, name: "all", active: true, type: "mqtt_topic", trigger: [{ topic: "#" }],
    })) as unknown as Action[];
    const repo = { all: async () => actions } as unknown as ActionRepository;
    return new ActionService(repo, {} as ActionRegistry, () => undefined, budget);
  }

  test("4 000 topics of 60 KiB from one account keep the cache within its bytes; another account's topics are still matched", async () => {
    const budget = 2 * MiB;
    const service = serviceWith(["hog", "good"], budget);
    await service.load();
    for (let i = 0; i < 4000; i++) {
      const list = service.mqttActionsFor("hog", `t${i}/${"x".repeat(60 * 1024)}`);
      assert.equal(list.length, 1);
      assert.ok(service.topicCacheUsed <= budget, `${service.topicCacheUsed} bytes after ${i}`);
    }
    assert.equal(service.mqttActionsFor("good", "sensors/1")[0]?.accountId, "good");
    assert.ok(service.topicCacheUsed > 0);
  });

  test("an account without actions caches nothing", async () => {
    const service = serviceWith(["good"], MiB);
    await service.load();
    for (let i = 0; i < 100; i++) assert.equal(service.mqttActionsFor("none", `t${i}/${"x".repeat(1024)}`).length, 0);
    assert.equal(service.topicCacheUsed, 0);
  });
});
