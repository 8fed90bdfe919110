import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import type { IPublishPacket } from "mqtt-packet";
import { noPacket, RawClient, uid } from "../helpers/raw_mqtt.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// What survives a server restart on the same data dir (docs/mqtt.md "Sessions and
// persistence"; 5.0 §4.1: the session state a server keeps must not depend on the connection).

/** Runs `before` on a fresh Sluice, restarts it on the same data dir, runs `afterRestart`. */
async function acrossRestart<T>(before: (s: TestSluice, token: string) => Promise<T>, afterRestart: (s: TestSluice, token: string, state: T) => Promise<void>): Promise<void> {
  const first = await startSluice();
  let second: TestSluice | undefined;
  try {
    const token = (await first.device()).token;
    const state = await before(first, token);
    await first.close({ keepData: true });
    second = await startSluice({}, first.dataDir);
    await afterRestart(second, token, state);
  } finally {
    if (second) await second.close();
    else await first.close();
  }
}

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("persistence across a restart", { concurrency: true }, () => {
  test("retained messages survive a restart, with their QoS and properties", async () => {
    const topic = uid("r/");
    await acrossRestart(
      async (s, token) => {
        const pub = await s.connect({ username: "Token", password: token, protocolVersion: 5 });
        await pub.publishAsync(topic, "kept", {
          qos: 1, retain: true,
          properties: { contentType: "text/plain", userProperties: { k: "v" }, correlationData: Buffer.from([1, 2, 3]) },
        });
      },
      async (s, token) => {
        const { client } = await RawClient.connect(s.ports.mqtt, { password: token, protocolVersion: 5 });
        await client.subscribe(topic, { qos: 1 });
        const p = (await client.next("publish")) as IPublishPacket;
        assert.equal(p.payload.toString(), "kept");
        assert.equal(p.retain, true);
        assert.equal(p.qos, 1);
        assert.equal(p.properties?.contentType, "text/plain");
        assert.deepEqual({ ...p.properties?.userProperties }, { k: "v" });
        assert.deepEqual(p.properties?.correlationData, Buffer.from([1, 2, 3]));
        await client.disconnect();
      },
    );
  });

  test("a retained message cleared before a restart stays cleared", async () => {
    const topic = uid("r/");
    await acrossRestart(
      async (s, token) => {
        const pub = await s.connect({ username: "Token", password: token });
        await pub.publishAsync(topic, "old", { qos: 1, retain: true });
        await pub.publishAsync(topic, "", { qos: 1, retain: true });
      },
      async (s, token) => {
        const { client } = await RawClient.connect(s.ports.mqtt, { password: token });
        await client.subscribe(topic, { qos: 1 });
        assert.equal(await noPacket(client, "publish", 200), true);
        await client.disconnect();
      },
    );
  });

  // MQTT bounds topics and client ids at 65 535 bytes only, and PostgreSQL's B-tree entries hold
  // about 2.7 kB: keys of that size must be kept as SQLite keeps them (random text: a B-tree
  // entry is compressed first, so a repeated character would fit).
  test("a 10 kB topic, filter and client id: the retained message and the persistent session survive a restart", async () => {
    const long = (prefix: string) => `${prefix}${randomBytes(5000).toString("hex")}`;
    const retainedTopic = long("r/");
    const filterTopic = long("f/");
    const clientId = long("c");
    const options = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 }, clientId };
    await acrossRestart(
      async (s, token) => {
        const pub = await s.connect({ username: "Token", password: token, protocolVersion: 5 });
        await pub.publishAsync(retainedTopic, "kept", { qos: 1, retain: true });
        const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token });
        await client.subscribe(`${filterTopic}/+`, { qos: 1 });
        await client.disconnect();
        await pub.publishAsync(`${filterTopic}/a`, "queued", { qos: 1 });
      },
      async (s, token) => {
        const { client: reader } = await RawClient.connect(s.ports.mqtt, { password: token, protocolVersion: 5 });
        await reader.subscribe(retainedTopic, { qos: 1 });
        assert.equal(((await reader.next("publish")) as IPublishPacket).payload.toString(), "kept");
        await reader.disconnect();
        const { client, connack } = await RawClient.connect(s.ports.mqtt, { ...options, password: token });
        assert.equal(connack.sessionPresent, true);
        const queued = (await client.next("publish")) as IPublishPacket;
        assert.equal(queued.payload.toString(), "queued");
        client.send({ cmd: "puback", messageId: queued.messageId });
        const pub = await s.connect({ username: "Token", password: token });
        await pub.publishAsync(`${filterTopic}/b`, "live", { qos: 1 });
        assert.equal(((await client.next("publish")) as IPublishPacket).payload.toString(), "live");
        await client.disconnect();
      },
    );
  });

  for (const [v, options] of [
    ["3.1.1", { protocolVersion: 4 as const, clean: false }],
    ["5.0", { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } }],
  ] as const) {
    test(`${v}: a persistent session's subscriptions survive a restart`, async () => {
      const clientId = uid("c");
      const topic = uid("p/");
      await acrossRestart(
        async (s, token) => {
          const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          await client.subscribe(`${topic}/+`, { qos: 1 });
          await client.disconnect();
        },
        async (s, token) => {
          const { client, connack } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          assert.equal(connack.sessionPresent, true);
          const pub = await s.connect({ username: "Token", password: token });
          await pub.publishAsync(`${topic}/a`, "after restart", { qos: 1 });
          const p = (await client.next("publish")) as IPublishPacket;
          assert.equal(p.payload.toString(), "after restart");
          assert.equal(p.qos, 1);
          await client.disconnect();
        },
      );
    });

    test(`${v}: QoS 1 messages queued for an offline persistent session survive a restart, in order`, async () => {
      const clientId = uid("c");
      const topic = uid("p/");
      await acrossRestart(
        async (s, token) => {
          const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          await client.subscribe(topic, { qos: 1 });
          await client.disconnect();
          const pub = await s.connect({ username: "Token", password: token });
          for (const payload of ["one", "two", "three"]) await pub.publishAsync(topic, payload, { qos: 1 });
        },
        async (s, token) => {
          const { client, connack } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          assert.equal(connack.sessionPresent, true);
          const ps = await client.publishes(3);
          assert.deepEqual(ps.map((p) => p.payload.toString()), ["one", "two", "three"]);
          for (const p of ps) client.send({ cmd: "puback", messageId: p.messageId });
          assert.equal(await noPacket(client, "publish", 150), true);
          await client.disconnect();
        },
      );
    });

    test(`${v}: a QoS 1 message in flight when the server stopped is redelivered with DUP after the restart`, async () => {
      const clientId = uid("c");
      const topic = uid("p/");
      await acrossRestart(
        async (s, token) => {
          const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          await client.subscribe(topic, { qos: 1 });
          const pub = await s.connect({ username: "Token", password: token });
          await pub.publishAsync(topic, "unacked", { qos: 1 });
          return ((await client.next("publish")) as IPublishPacket).messageId; // never acknowledged
        },
        async (s, token, messageId) => {
          const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
          const p = (await client.next("publish")) as IPublishPacket;
          assert.equal(p.payload.toString(), "unacked");
          assert.equal(p.dup, true);
          assert.equal(p.messageId, messageId);
          await client.disconnect();
        },
      );
    });
  }

  test("a clean session is not restored after a restart", async () => {
    const clientId = uid("c");
    await acrossRestart(
      async (s, token) => {
        // Still connected when the server stops.
        await RawClient.connect(s.ports.mqtt, { password: token, clientId, clean: true });
      },
      async (s, token) => {
        const { client, connack } = await RawClient.connect(s.ports.mqtt, { password: token, clientId, clean: false });
        assert.equal(connack.sessionPresent, false);
        await client.disconnect();
      },
    );
  });

  test("5.0: a restored session still expires after its Session Expiry Interval", async () => {
    const clientId = uid("c");
    await acrossRestart(
      async (s, token) => {
        const { client } = await RawClient.connect(s.ports.mqtt, { protocolVersion: 5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 1 } });
        await client.subscribe(uid("p/"), { qos: 1 });
        await client.disconnect();
      },
      async (s, token) => {
        await new Promise((r) => setTimeout(r, 2100));
        const { client, connack } = await RawClient.connect(s.ports.mqtt, { protocolVersion: 5, password: token, clientId, clean: false, properties: { sessionExpiryInterval: 1 } });
        assert.equal(connack.sessionPresent, false);
        await client.disconnect();
      },
    );
  });

  test("5.0: messages queued for an offline session keep their Subscription Identifier across a restart", async () => {
    const clientId = uid("c");
    const topic = uid("p/");
    const options = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
    await acrossRestart(
      async (s, token) => {
        const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
        await client.subscribe(topic, { qos: 1 }, { subscriptionIdentifier: 17 });
        await client.disconnect();
        const pub = await s.connect({ username: "Token", password: token });
        await pub.publishAsync(topic, "queued", { qos: 1 });
      },
      async (s, token) => {
        const { client } = await RawClient.connect(s.ports.mqtt, { ...options, password: token, clientId });
        const p = (await client.next("publish")) as IPublishPacket;
        assert.equal(p.payload.toString(), "queued");
        assert.equal(p.properties?.subscriptionIdentifier, 17);
        await client.disconnect();
      },
    );
  });

  test("a QoS 2 message received but not yet released before a restart is not routed again when the publisher resends it", async () => {
    const subscriberId = uid("c");
    const publisherId = uid("c");
    const topic = uid("p/");
    const publish: IPublishPacket = { cmd: "publish", topic, payload: Buffer.from("exactly once"), qos: 2, messageId: 5, retain: false, dup: false };
    await acrossRestart(
      async (s, token) => {
        const { client: sub } = await RawClient.connect(s.ports.mqtt, { password: token, clientId: subscriberId, clean: false });
        await sub.subscribe(topic, { qos: 1 });
        await sub.disconnect();
        const { client: pub } = await RawClient.connect(s.ports.mqtt, { password: token, clientId: publisherId, clean: false });
        pub.send(publish);
        await pub.next("pubrec"); // the server stops before PUBREL
      },
      async (s, token) => {
        const { client: pub, connack } = await RawClient.connect(s.ports.mqtt, { password: token, clientId: publisherId, clean: false });
        assert.equal(connack.sessionPresent, true);
        pub.send({ ...publish, dup: true });
        await pub.next("pubrec");
        pub.send({ cmd: "pubrel", messageId: 5 });
        const comp = await pub.next("pubcomp");
        assert.equal((comp as { reasonCode?: number }).reasonCode ?? 0, 0, "the packet id was known");
        const { client: sub } = await RawClient.connect(s.ports.mqtt, { password: token, clientId: subscriberId, clean: false });
        const ps = await sub.publishes(1);
        assert.equal(ps[0]!.payload.toString(), "exactly once");
        assert.equal(await noPacket(sub, "publish", 200), true, "delivered once");
        await sub.disconnect();
        await pub.disconnect();
      },
    );
  });
});
