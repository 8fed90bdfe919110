import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import mqttPacket from "mqtt-packet";
import { defaultConfig } from "../../src/config/schema.js";
import { WireClient } from "../helpers/wire.js";
import { brokerOnLoopback } from "../helpers/bare_broker.js";

// Attack on issue 10: a read turn is bounded in bytes (READ_TURN_BYTES, 64 KiB) but not in
// work, and with the default plan (`unlimited`) nothing bounds subscriptions per connection.
// One connection subscribes the 2^L distinct filters that match one L-level topic (each level
// literal or `+`), then pipelines tiny PUBLISHes to that topic: every publish walks and merges
// all the overlapping subscriptions, and a whole read of them runs in one go.
// Measured on a running server: 65 536 filters (16 SUBSCRIBE packets, 1.4 s), then 1 200 QoS 0
// publishes of 1 byte (~50 KB on the wire) held the event loop 6.7 s in one go: an unrelated
// client's publish→delivery went from 2 ms to 6 681 ms, `GET /status` to 6 939 ms.

const LEVELS = 14;
const PUBLISHES = 2400;

// Fixed: `mqtt.maxSubscriptionsPerSession` (1 000) refuses the filters past it (SUBACK 0x97),
// whatever the plan; and a connection whose packets cost `mqtt.maxTurnMs` of the event loop
// in a turn waits for the next turn before handling the rest of its read. Both are shown:
// with the default limits, and with the subscriptions cap lifted (the turn budget alone).
// Timings are relative, and the flood is long enough (in publishes) to dwarf scheduling noise.

for (const variant of ["default limits", "subscriptions cap lifted"] as const) {
describe(`attack10: overlapping subscriptions (${variant}): one read of tiny publishes must not hold the loop in one go`, () => {
  const cap = variant === "default limits" ? defaultConfig.mqtt.maxSubscriptionsPerSession : 2 ** LEVELS;
  // With the cap each publish matches 16× fewer filters: 16× more publishes keep the flood long
  // enough (hundreds of ms) that a few turns of the budget do not look like a held loop.
  const publishes = variant === "default limits" ? 16 * PUBLISHES : PUBLISHES;
  const { broker: brokerOf, port: portOf } = brokerOnLoopback({ limits: { maxSubscriptionsPerSession: cap } });

  test(`${2 ** LEVELS} overlapping filters, ${publishes} pipelined publishes: an unrelated client is served while they are handled`, async () => {
    const port = portOf();
    const broker = brokerOf();
    const attacker = await WireClient.connected(port, "x", { protocolVersion: 5, clientId: "overlap" });
    const topic = Array.from({ length: LEVELS }, (_, i) => `a${i}`).join("/");
    let subscriptions: { topic: string; qos: 0 }[] = [];
    let messageId = 1;
    const granted: number[] = [];
    for (let mask = 0; mask < 2 ** LEVELS; mask++) {
      subscriptions.push({ topic: Array.from({ length: LEVELS }, (_, i) => ((mask >> i) & 1 ? "+" : `a${i}`)).join("/"), qos: 0 });
      if (subscriptions.length === 4096) {
        attacker.send({ cmd: "subscribe", messageId: messageId++, subscriptions });
        granted.push(...((await attacker.next("suback", 30_000)).granted as number[]));
        subscriptions = [];
      }
    }
    assert.equal(granted.filter((c) => c === 0).length, Math.min(cap, 2 ** LEVELS), "filters granted up to maxSubscriptionsPerSession");
    assert.ok(granted.every((c) => c === 0 || c === 0x97), "the others refused with 0x97 (quota exceeded)");
    assert.ok(broker.connections.size > 0 && [...broker.connections].every((c) => (c.session?.subscriptions.size ?? 0) <= cap));
    const good = await WireClient.connected(port, "x", { protocolVersion: 5, clientId: "good" });
    good.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "alive", qos: 1 }] });
    await good.next("suback");

    // One write of every publish: the broker reads them in a few 64 KiB turns.
    const one = mqttPacket.generate({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
    const t0 = performance.now();
    attacker.socket.write(Buffer.concat(Array.from({ length: publishes }, () => one)));
    await new Promise((r) => setImmediate(r));
    const g0 = performance.now();
    good.send({ cmd: "publish", topic: "alive", payload: Buffer.from("ping"), qos: 1, messageId: 7, retain: false, dup: false });
    await good.next("publish", 120_000);
    const goodMs = performance.now() - g0;
    for (let i = 0; i < publishes; i++) await attacker.next("publish", 120_000);
    const floodMs = performance.now() - t0;
    assert.ok(
      goodMs < floodMs / 4,
      `the unrelated client's round trip took ${goodMs.toFixed(0)} ms of the flood's ${floodMs.toFixed(0)} ms (the loop was held in one go)`,
    );
    attacker.destroy();
    good.destroy();
  });
});
}
