import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import mqttPacket from "mqtt-packet";
import { Broker } from "../../src/mqtt/broker.js";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";
import { connectPacket, metricValue, WireClient } from "../helpers/wire.js";
import { brokerOnLoopback } from "../helpers/bare_broker.js";

// A broker faces the internet: malformed bytes, protocol violations, oversized packets,
// silent sockets and clients that stop reading must cost it one connection at most, never
// its memory, its other clients or its life.

const PROTOCOL_ERROR = 0x82;
const KEEP_ALIVE_TIMEOUT = 0x8d;
const TOPIC_NAME_INVALID = 0x90;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;
const PACKET_TOO_LARGE = 0x95;

const MAX_PACKET = 1024;

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice({ mqtt: { maxPacketSize: MAX_PACKET } });
  token = (await sluice.device()).token;
});
after(() => sluice.close());

let serial = 0;
/** The broker survived: a normal client connects, subscribes and gets a message. */
async function brokerStillServes(on: TestSluice = sluice, password = token): Promise<void> {
  const topic = `alive/${serial++}`;
  const client = await on.connect({ username: "Token", password, protocolVersion: 5 });
  await client.subscribeAsync(topic, { qos: 1 });
  const got = nextMessages(client);
  await client.publishAsync(topic, "still here", { qos: 1 });
  assert.equal((await got)[0]!.payload, "still here");
  await client.endAsync();
}

describe("malformed input", () => {
  const garbage: [string, number[]][] = [
    ["reserved packet type 0", [0x00, 0x00]],
    ["0xFF bytes", Array(16).fill(0xff)],
    ["an HTTP request", [...Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")]],
    ["a PUBLISH with both QoS bits set", [0x36, 0x04, 0x00, 0x01, 0x61, 0x62]],
    ["a five-byte remaining length", [0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ["a CONNECT with a bad protocol name", [0x10, 0x0a, 0x00, 0x04, 0x58, 0x58, 0x58, 0x58, 0x04, 0x02, 0x00, 0x00]],
  ];
  for (const [what, bytes] of garbage) {
    test(`garbage bytes close the connection: ${what}`, async () => {
      const wire = await WireClient.open(sluice.ports.mqtt);
      wire.write(bytes);
      await wire.waitClosed(1000); // well before the 10 s CONNECT timeout
      assert.equal(wire.packets.length, 0, "nothing is answered to garbage");
      await brokerStillServes();
    });
  }

  test("a first packet that is not CONNECT closes the connection without an answer", async () => {
    const wire = await WireClient.open(sluice.ports.mqtt);
    wire.send({ cmd: "publish", topic: "a/b", payload: Buffer.from("x"), qos: 0, retain: false, dup: false });
    await wire.waitClosed(1000);
    assert.equal(wire.packets.length, 0);
    await brokerStillServes();
  });

  test("a PINGREQ before CONNECT closes the connection", async () => {
    const wire = await WireClient.open(sluice.ports.mqtt);
    wire.write([0xc0, 0x00]);
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("a second CONNECT gets DISCONNECT 0x82 in MQTT 5, then the connection closes", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
    wire.send(connectPacket(token));
    assert.equal((await wire.next("disconnect")).reasonCode, PROTOCOL_ERROR);
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("a second CONNECT closes an MQTT 3.1.1 connection", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 4 });
    wire.send(connectPacket(token, { protocolVersion: 4 }));
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  for (const topic of ["a/+/c", "a/#", "#", "+"]) {
    test(`a PUBLISH to a topic with a wildcard (${topic}) gets DISCONNECT 0x90 in MQTT 5, then the connection closes`, async () => {
      const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
      wire.send({ cmd: "publish", topic, payload: Buffer.from("x"), qos: 1, messageId: 1, retain: false, dup: false });
      assert.equal((await wire.next("disconnect")).reasonCode, TOPIC_NAME_INVALID);
      await wire.waitClosed(1000);
      await brokerStillServes();
    });
  }

  test("an MQTT 3.1.1 UNSUBSCRIBE without a topic filter closes the connection, unanswered [MQTT-3.10.3-2]", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 4 });
    // UNSUBSCRIBE (0xA2), remaining length 2: the packet id and no filter. mqtt-packet would not
    // write it, so the bytes go on the socket as they are.
    wire.socket.write(Buffer.from([0xa2, 0x02, 0x00, 0x07]));
    await wire.waitClosed(1000);
    assert.equal(wire.packets.some((p) => p.cmd === "unsuback"), false, "answered with UNSUBACK");
    await brokerStillServes();
  });

  test("a PUBLISH to a topic with a wildcard closes an MQTT 3.1.1 connection", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 4 });
    wire.send({ cmd: "publish", topic: "a/#", payload: Buffer.from("x"), qos: 0, retain: false, dup: false });
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("a PUBLISH whose topic is not valid UTF-8 closes the connection, and nothing is delivered", async () => {
    const watcher = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
    await watcher.subscribeAsync("#", { qos: 0 });
    const delivered: string[] = [];
    watcher.on("message", (topic) => delivered.push(topic));
    for (const protocolVersion of [4, 5] as const) {
      const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion });
      // Topic "a" 0xC3 0x28 "b": 0xC3 starts a two-byte sequence, 0x28 cannot continue it.
      const topic = [0x61, 0xc3, 0x28, 0x62];
      const body = [0x00, topic.length, ...topic, ...(protocolVersion === 5 ? [0x00] : []), 0x78];
      wire.write([0x30, body.length, ...body]);
      await wire.waitClosed(1000);
      const disconnect = wire.packets.find((p) => p.cmd === "disconnect");
      if (protocolVersion === 5) assert.ok(disconnect && (disconnect.reasonCode ?? 0) >= 0x80, "MQTT 5 is told why");
    }
    await brokerStillServes();
    assert.deepEqual(delivered.filter((t) => !t.startsWith("alive/")), []);
  });

  test("a PUBLISH whose topic holds U+0000 closes the connection", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
    wire.send({ cmd: "publish", topic: "a\u0000b", payload: Buffer.from("x"), qos: 0, retain: false, dup: false });
    assert.equal((await wire.next("disconnect")).reasonCode, TOPIC_NAME_INVALID);
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("a CONNECT with an unsupported protocol level gets CONNACK return code 1, then the connection closes", async () => {
    // 3.1.1 §3.1.2.2 [MQTT-3.1.2-2]: answer 0x01 (unacceptable protocol level), then disconnect.
    const wire = await WireClient.open(sluice.ports.mqtt, 4);
    const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x78];
    wire.write([0x10, body.length, ...body]);
    assert.equal((await wire.next("connack")).returnCode, 1);
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("a CONNECT whose client id is not valid UTF-8 is refused", async () => {
    const wire = await WireClient.open(sluice.ports.mqtt, 4);
    const clientId = [0x61, 0xc3, 0x28];
    const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00, 0x00, clientId.length, ...clientId];
    wire.write([0x10, body.length, ...body]);
    await wire.waitClosed(1000);
    const connack = wire.packets.find((p) => p.cmd === "connack");
    assert.ok(connack === undefined || (connack.returnCode ?? 0) !== 0, "not accepted");
    await brokerStillServes();
  });
});

describe("packet size", () => {
  test("MQTT 5 CONNACK announces the maximum packet size", async () => {
    const wire = await WireClient.open(sluice.ports.mqtt, 5);
    wire.send(connectPacket(token));
    const connack = await wire.next("connack");
    assert.equal(connack.properties?.maximumPacketSize, MAX_PACKET);
    wire.destroy();
  });

  test("a packet announcing more than maxPacketSize gets DISCONNECT 0x95 from its header alone, then the connection closes", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
    const before = await metricValue(sluice.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "packet_too_large" });
    // PUBLISH announcing 100 000 bytes (remaining length 0xA0 0x8D 0x06), of which only 8 are sent.
    wire.write([0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x78, 0x78]);
    assert.equal((await wire.next("disconnect")).reasonCode, PACKET_TOO_LARGE);
    await wire.waitClosed(1000);
    const after = await metricValue(sluice.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "packet_too_large" });
    assert.equal(after - before, 1);
    await brokerStillServes();
  });

  test("a packet one byte over maxPacketSize is refused, one at the limit is accepted", async () => {
    const publishOf = (size: number) => {
      const base = mqttPacket.generate({ cmd: "publish", topic: "size/x", payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
      // Payload grows the packet byte for byte as long as the remaining length keeps its 2 bytes.
      return mqttPacket.generate({ cmd: "publish", topic: "size/x", payload: Buffer.alloc(size - base.length - 1, 0x61), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
    };
    assert.equal(publishOf(MAX_PACKET).length, MAX_PACKET);
    const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
    await sub.subscribeAsync("size/x", { qos: 0 });
    const got = nextMessages(sub);
    const ok = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
    ok.write(publishOf(MAX_PACKET));
    assert.equal((await got)[0]!.payload.length, MAX_PACKET - 12); // fixed header 3, topic 8, properties 1
    const tooBig = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 5 });
    tooBig.write(publishOf(MAX_PACKET + 1));
    assert.equal((await tooBig.next("disconnect")).reasonCode, PACKET_TOO_LARGE);
    assert.equal(ok.isClosed, false);
    ok.destroy();
  });

  test("an oversized packet closes an MQTT 3.1.1 connection", async () => {
    const wire = await WireClient.connected(sluice.ports.mqtt, token, { protocolVersion: 4 });
    wire.write([0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x62]);
    await wire.waitClosed(1000);
    await brokerStillServes();
  });

  test("an oversized CONNECT closes the connection before anything is answered", async () => {
    const wire = await WireClient.open(sluice.ports.mqtt);
    wire.write([0x10, 0xa0, 0x8d, 0x06, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54]);
    await wire.waitClosed(1000);
    assert.equal(wire.packets.length, 0);
    await brokerStillServes();
  });
});

describe("timeouts", () => {
  let impatient: TestSluice;
  let impatientToken: string;
  before(async () => {
    impatient = await startSluice({ mqtt: { connectTimeoutMs: 300 } });
    impatientToken = (await impatient.device()).token;
  });
  after(() => impatient.close());

  test("a socket that sends no CONNECT within connectTimeoutMs is closed", async () => {
    const wire = await WireClient.open(impatient.ports.mqtt);
    const opened = Date.now();
    const closedAt = await wire.waitClosed(3000);
    // The deadline runs from the server's accept, a moment before the client sees its socket open.
    assert.ok(closedAt - opened >= 250, `closed after ${closedAt - opened} ms`);
    await brokerStillServes(impatient, impatientToken);
  });

  test("a socket that sends only part of its CONNECT is closed after connectTimeoutMs", async () => {
    const wire = await WireClient.open(impatient.ports.mqtt);
    const opened = Date.now();
    wire.write(mqttPacket.generate(connectPacket(impatientToken), { protocolVersion: 5 }).subarray(0, 10));
    const closedAt = await wire.waitClosed(3000);
    assert.ok(closedAt - opened >= 250, `closed after ${closedAt - opened} ms (the deadline runs from the server's accept)`);
    await brokerStillServes(impatient, impatientToken);
  });

  test("a client with keep alive 1 s that goes silent is disconnected after about 1.5 s with DISCONNECT 0x8D", async () => {
    const wire = await WireClient.connected(impatient.ports.mqtt, impatientToken, { protocolVersion: 5, keepalive: 1 });
    const connectedAt = Date.now();
    const disconnect = await wire.next("disconnect", 4000);
    const elapsed = Date.now() - connectedAt;
    assert.equal(disconnect.reasonCode, KEEP_ALIVE_TIMEOUT);
    assert.ok(elapsed >= 1400 && elapsed < 3000, `disconnected after ${elapsed} ms`);
    await wire.waitClosed(1000);
    await brokerStillServes(impatient, impatientToken);
  });

  test("a silent MQTT 3.1.1 client with keep alive 1 s is closed after about 1.5 s", async () => {
    const wire = await WireClient.connected(impatient.ports.mqtt, impatientToken, { protocolVersion: 4, keepalive: 1 });
    const connectedAt = Date.now();
    const closedAt = await wire.waitClosed(4000);
    assert.ok(closedAt - connectedAt >= 1400 && closedAt - connectedAt < 3000, `closed after ${closedAt - connectedAt} ms`);
  });

  test("a client with keep alive 1 s that sends PINGREQ in time stays connected", async () => {
    const wire = await WireClient.connected(impatient.ports.mqtt, impatientToken, { protocolVersion: 5, keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700));
      wire.write([0xc0, 0x00]);
      await wire.next("pingresp", 1000);
    }
    assert.equal(wire.isClosed, false, "connected after 2.8 s");
    wire.destroy();
  });
});

/**
 * A bare Broker with receive maximum 2 whose published hook holds every ack with `hold`, on an
 * ephemeral port for the enclosing describe: holding acks is what piles QoS 1 messages up.
 */
function brokerHoldingAcks(hold: () => Promise<void>): { port: () => number } {
  return brokerOnLoopback({ limits: { receiveMaximum: 2 }, hooks: { published: hold } });
}

describe("receive maximum", () => {
  const bare = brokerHoldingAcks(() => new Promise<void>(() => {}));

  test("MQTT 5 CONNACK announces the receive maximum", async () => {
    const wire = await WireClient.open(bare.port(), 5);
    wire.send(connectPacket("any"));
    assert.equal((await wire.next("connack")).properties?.receiveMaximum, 2);
    wire.destroy();
  });

  test("a client may have receiveMaximum QoS 1 messages unacknowledged", async () => {
    const wire = await WireClient.connected(bare.port(), "any", { protocolVersion: 5 });
    for (const messageId of [1, 2]) wire.send({ cmd: "publish", topic: "rm/a", payload: Buffer.from("x"), qos: 1, messageId, retain: false, dup: false });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(wire.isClosed, false);
    wire.destroy();
  });

  test("a client exceeding the receive maximum gets DISCONNECT 0x93, then the connection closes", async () => {
    const wire = await WireClient.connected(bare.port(), "any", { protocolVersion: 5 });
    for (const messageId of [1, 2, 3]) wire.send({ cmd: "publish", topic: "rm/a", payload: Buffer.from("x"), qos: 1, messageId, retain: false, dup: false });
    assert.equal((await wire.next("disconnect")).reasonCode, RECEIVE_MAXIMUM_EXCEEDED);
    await wire.waitClosed(1000);
    const fine = await WireClient.connected(bare.port(), "any", { protocolVersion: 5 });
    fine.destroy();
  });
});

describe("slow subscribers", () => {
  const BUFFER_LIMIT = 256 * 1024;
  let flood: TestSluice;
  let floodToken: string;
  before(async () => {
    flood = await startSluice({ mqtt: { maxSocketBufferBytes: BUFFER_LIMIT, maxInflight: 16, maxQueuedMessages: 50 } });
    floodToken = (await flood.device()).token;
  });
  after(() => flood.close());

  /** The broker-side connection of a client id. */
  function brokerConnection(clientId: string) {
    return [...flood.server.broker.connections].find((c) => c.client?.clientId === clientId);
  }

  test("a QoS 0 subscriber that stops reading loses messages instead of slowing others, and its buffer stays bounded", async () => {
    const slow = await WireClient.connected(flood.ports.mqtt, floodToken, { protocolVersion: 5, clientId: "slow-q0" });
    slow.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "flood/q0", qos: 0 }] });
    await slow.next("suback");
    slow.socket.pause();
    const fast = await flood.connect({ username: "Token", password: floodToken, protocolVersion: 5 });
    await fast.subscribeAsync("flood/q0", { qos: 0 });
    const pub = await flood.connect({ username: "Token", password: floodToken, protocolVersion: 5 });
    // Enough to fill the kernel's socket buffers on both sides of the slow socket, and then some.
    const count = 4000;
    const payload = Buffer.alloc(8 * 1024, 0x61);
    const droppedBefore = await metricValue(flood.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "slow_subscriber" });
    const started = Date.now();
    let received = 0;
    fast.on("message", () => received++);
    let maxBuffered = 0;
    // In batches the fast subscriber keeps up with (everything shares one event loop here):
    // a healthy reader never has more than a batch outstanding, the stopped one falls behind.
    const batch = 16;
    for (let i = 0; i < count; i += batch) {
      const got = nextMessages(fast, batch, 5000);
      for (let j = 0; j < batch; j++) pub.publish("flood/q0", payload, { qos: 0 });
      await got;
      maxBuffered = Math.max(maxBuffered, brokerConnection("slow-q0")?.socket.bufferedBytes() ?? 0);
    }
    assert.equal(received, count, "the fast subscriber got every message");
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 15_000, `the fast subscriber took ${elapsed} ms for ${count} messages`);
    assert.ok(maxBuffered <= BUFFER_LIMIT + payload.length + 64, `the slow subscriber's buffer peaked at ${maxBuffered} bytes`);
    const dropped = (await metricValue(flood.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "slow_subscriber" })) - droppedBefore;
    assert.ok(dropped > 0, "drops are counted as slow_subscriber");
    assert.ok(brokerConnection("slow-q0"), "the slow subscriber is not thrown out for being slow");
    await brokerStillServes(flood, floodToken);
    slow.destroy();
  });

  test("a QoS 1 subscriber that never acknowledges holds at most maxInflight in flight and maxQueuedMessages queued", async () => {
    const slow = await WireClient.connected(flood.ports.mqtt, floodToken, { protocolVersion: 5, clientId: "slow-q1" });
    slow.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "flood/q1", qos: 1 }] });
    await slow.next("suback");
    slow.socket.pause();
    const fast = await flood.connect({ username: "Token", password: floodToken, protocolVersion: 5 });
    await fast.subscribeAsync("flood/q1", { qos: 1 });
    const pub = await flood.connect({ username: "Token", password: floodToken, protocolVersion: 5 });
    const count = 200;
    const droppedBefore = await metricValue(flood.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "queue_full" });
    const got = nextMessages(fast, count, 10_000);
    for (let i = 0; i < count; i++) await pub.publishAsync("flood/q1", `m${i}`, { qos: 1 });
    assert.equal((await got).length, count, "the fast subscriber got every message");
    const session = brokerConnection("slow-q1")!.session!;
    assert.equal(session.inflight.size, 16);
    assert.equal(session.queue.length, 50);
    const dropped = (await metricValue(flood.ports.http, "sluice_mqtt_messages_dropped_total", { reason: "queue_full" })) - droppedBefore;
    assert.equal(dropped, count - 16 - 50);
    await brokerStillServes(flood, floodToken);
    slow.destroy();
  });
});

describe("receive maximum for MQTT 3.1.1 clients, which are never told it", () => {
  const held: (() => void)[] = [];
  const bare = brokerHoldingAcks(() => new Promise<void>((resolve) => held.push(resolve)));

  test("a 3.1.1 client over the limit is not disconnected: the broker stops reading until acks leave, then every message is acknowledged", async () => {
    const wire = await WireClient.connected(bare.port(), "any", { protocolVersion: 4 });
    const publish = (messageId: number) => wire.send({ cmd: "publish", topic: "rm/b", payload: Buffer.from("x"), qos: 1, messageId, retain: false, dup: false });
    publish(1);
    publish(2);
    await new Promise((r) => setTimeout(r, 100));
    // Packets already read are handled; what comes after reaching the limit waits in TCP.
    for (const messageId of [3, 4, 5]) publish(messageId);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(wire.isClosed, false);
    assert.equal(held.length, 2);
    const acked: number[] = [];
    while (acked.length < 5) {
      held.splice(0).forEach((resolve) => resolve());
      acked.push((await wire.next("puback")).messageId!);
    }
    assert.deepEqual(acked, [1, 2, 3, 4, 5]);
    wire.destroy();
  });
});
