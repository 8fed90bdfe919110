import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IConnectPacket } from "mqtt-packet";
import { RawClient, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Will messages (3.1.1 §3.1.2.5; 5.0 §3.1.2.5, §3.1.3.2 Will Properties, §3.14.2.1 reason
// 0x04): published when the network connection ends without a normal DISCONNECT.

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

async function watcher(topic: string) {
  const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
  await sub.subscribeAsync(topic, { qos: 2 });
  return sub;
}

function will(topic: string, extra: Partial<NonNullable<IConnectPacket["will"]>> = {}): NonNullable<IConnectPacket["will"]> {
  return { topic, payload: Buffer.from("gone"), qos: 1, retain: false, ...extra };
}

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("will messages", { concurrency: true }, () => {
  for (const protocolVersion of [4, 5] as const) {
    const v = protocolVersion === 5 ? "5.0" : "3.1.1";

    test(`${v}: the will is published when the connection closes without DISCONNECT`, async () => {
      const topic = uid("w/");
      const sub = await watcher(topic);
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, will: will(topic) });
      const got = nextMessages(sub);
      await client.destroy();
      const [m] = await got;
      assert.equal(m!.payload, "gone");
      assert.equal(m!.packet.qos, 1);
    });

    test(`${v}: no will is published after a normal DISCONNECT`, async () => {
      const topic = uid("w/");
      const sub = await watcher(topic);
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, will: will(topic) });
      await client.disconnect();
      assert.equal(await noMessage(sub, 250), true);
    });

    test(`${v}: a will with retain set is kept as the topic's retained message`, async () => {
      const topic = uid("w/");
      const first = await watcher(topic);
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, will: will(topic, { retain: true }) });
      const published = nextMessages(first);
      await client.destroy();
      await published;
      const sub = await sluice.connect({ username: "Token", password: token, protocolVersion });
      const got = nextMessages(sub);
      await sub.subscribeAsync(topic, { qos: 1 });
      const [m] = await got;
      assert.equal(m!.payload, "gone");
      assert.equal(m!.packet.retain, true);
    });

    test(`${v}: the will is published when the session is taken over by a new connection`, async () => {
      const topic = uid("w/");
      const clientId = uid("c");
      const sub = await watcher(topic);
      await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, clientId, will: will(topic) });
      const got = nextMessages(sub);
      const { client: fresh } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, clientId });
      assert.equal((await got)[0]!.payload, "gone");
      await fresh.disconnect();
    });

    test(`${v}: a client silent for one and a half keep alive periods is disconnected and its will published`, async () => {
      const topic = uid("w/");
      const sub = await watcher(topic);
      // Before CONNECT: the server's keep alive clock starts at the connection, before the
      // CONNACK reaches the test (later on a busy machine, or a node on PostgreSQL).
      const started = Date.now();
      const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion, keepalive: 1, will: will(topic) });
      const [m] = await nextMessages(sub, 1, 4000);
      assert.equal(m!.payload, "gone");
      assert.ok(Date.now() - started >= 1400, "not before 1.5 × keep alive");
      await client.closed;
    });
  }

  test("5.0: DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, will: will(topic) });
    const got = nextMessages(sub);
    await client.disconnect(0x04);
    assert.equal((await got)[0]!.payload, "gone");
  });

  test("5.0: DISCONNECT with an error reason code (0x80) publishes the will: only 0x00 discards it", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, will: will(topic) });
    const got = nextMessages(sub);
    await client.disconnect(0x80);
    assert.equal((await got)[0]!.payload, "gone");
  });

  test("5.0: DISCONNECT with reason 0x00 discards the will", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, will: will(topic) });
    await client.disconnect(0x00);
    assert.equal(await noMessage(sub, 250), true);
  });

  test("a connection the server closes for a protocol violation publishes its will", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, will: will(topic) });
    const got = nextMessages(sub);
    client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 0, clientId: uid("c") }); // a second CONNECT
    await client.closed;
    assert.equal((await got)[0]!.payload, "gone");
  });

  test("5.0: the will's properties are forwarded with it", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, {
      password: token, protocolVersion: 5,
      will: will(topic, {
        properties: {
          contentType: "text/plain", payloadFormatIndicator: true, responseTopic: "reply/here",
          correlationData: Buffer.from("abc"), userProperties: { why: "test" },
        },
      }),
    });
    const got = nextMessages(sub);
    await client.destroy();
    const p = (await got)[0]!.packet;
    assert.equal(p.properties?.contentType, "text/plain");
    assert.equal(p.properties?.payloadFormatIndicator, true);
    assert.equal(p.properties?.responseTopic, "reply/here");
    assert.deepEqual(p.properties?.correlationData, Buffer.from("abc"));
    assert.deepEqual({ ...p.properties?.userProperties }, { why: "test" });
  });

  test("5.0: with a Will Delay Interval, the will is not published if the client resumes the session within the delay", async () => {
    const topic = uid("w/");
    const clientId = uid("c");
    const sub = await watcher(topic);
    const options = { password: token, protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const { client } = await RawClient.connect(sluice.ports.mqtt, { ...options, will: will(topic, { properties: { willDelayInterval: 1 } }) });
    await client.destroy();
    const { client: again, connack } = await RawClient.connect(sluice.ports.mqtt, options);
    assert.equal(connack.sessionPresent, true);
    assert.equal(await noMessage(sub, 1300), true, "no will after the delay either");
    await again.disconnect();
  });

  test("5.0: a session taken over by a new connection that resumes it within the Will Delay Interval sends no will", async () => {
    const topic = uid("w/");
    const clientId = uid("c");
    const sub = await watcher(topic);
    const options = { password: token, protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const { client: old } = await RawClient.connect(sluice.ports.mqtt, { ...options, will: will(topic, { properties: { willDelayInterval: 1 } }) });
    const { client: fresh } = await RawClient.connect(sluice.ports.mqtt, options);
    await old.closed;
    assert.equal(await noMessage(sub, 1300), true);
    await fresh.disconnect();
  });

  test("5.0: with a Will Delay Interval, the will is published once the delay has passed", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, {
      password: token, protocolVersion: 5, clientId: uid("c"), properties: { sessionExpiryInterval: 60 },
      will: will(topic, { properties: { willDelayInterval: 1 } }),
    });
    const got = nextMessages(sub, 1, 3000);
    const closedAt = Date.now();
    await client.destroy();
    assert.equal(await noMessage(sub, 700), true, "not before the delay");
    assert.equal((await got)[0]!.payload, "gone");
    assert.ok(Date.now() - closedAt >= 950);
  });

  test("5.0: a will delayed beyond the session's expiry is published when the session ends", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, {
      password: token, protocolVersion: 5, clientId: uid("c"), properties: { sessionExpiryInterval: 1 },
      will: will(topic, { properties: { willDelayInterval: 60 } }),
    });
    const got = nextMessages(sub, 1, 3500);
    await client.destroy();
    assert.equal((await got)[0]!.payload, "gone");
  });

  test("5.0: a will with Will Delay Interval on a session that ends with the connection is published at once", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, {
      password: token, protocolVersion: 5, will: will(topic, { properties: { willDelayInterval: 30 } }),
    });
    const got = nextMessages(sub, 1, 800);
    await client.destroy();
    assert.equal((await got)[0]!.payload, "gone");
  });

  test("5.0: a will's Message Expiry Interval counts from when the will is published", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const { client } = await RawClient.connect(sluice.ports.mqtt, {
      password: token, protocolVersion: 5, clientId: uid("c"), properties: { sessionExpiryInterval: 60 },
      will: will(topic, { properties: { willDelayInterval: 1, messageExpiryInterval: 30 } }),
    });
    const got = nextMessages(sub, 1, 3000);
    await client.destroy();
    const interval = (await got)[0]!.packet.properties?.messageExpiryInterval;
    assert.equal(interval, 30);
  });

  test("a will to a topic the client may not publish to is not published", async () => {
    const topic = uid("w/");
    const sub = await watcher(topic);
    const readOnly = (await sluice.device({ permission: "read" })).token;
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: readOnly, protocolVersion: 5, will: will(topic) });
    await client.destroy();
    assert.equal(await noMessage(sub, 250), true);
  });

  test("a will published to a $SYS topic is dropped", async () => {
    const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
    const topic = `$SYS/${uid("w")}`;
    await sub.subscribeAsync(topic, { qos: 1 });
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5, will: will(topic) });
    await client.destroy();
    assert.equal(await noMessage(sub, 250), true);
  });
});
