import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IDisconnectPacket, IPublishPacket } from "mqtt-packet";
import { noPacket, RawClient, uid } from "../helpers/raw_mqtt.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The Payload Format Indicator of a 5.0 PUBLISH (§3.3.2.3.2) is 0 or 1. mqtt-packet decodes it
// as a boolean, so these PUBLISH are built by hand: a 2 must end the connection with
// DISCONNECT 0x82 (Protocol Error, §1.2: parsed, but data the protocol does not allow), not be
// forwarded as a 1.

const PROTOCOL_ERROR = 0x82;

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice();
  token = (await sluice.device()).token;
});
after(() => sluice.close());

async function raw5(): Promise<RawClient> {
  return (await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 })).client;
}

function varInt(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

function sized(text: string): number[] {
  const bytes = [...Buffer.from(text)];
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** A 5.0 PUBLISH with `properties` as raw bytes (identifier, value, ...). */
function publishBytes(topic: string, properties: number[], payload: string, qos: 0 | 1 | 2 = 0, messageId = 1): Buffer {
  const body = [...sized(topic), ...(qos > 0 ? [messageId >> 8, messageId & 0xff] : []), ...varInt(properties.length), ...properties, ...Buffer.from(payload)];
  return Buffer.from([0x30 | (qos << 1), ...varInt(body.length), ...body]);
}

const PFI = 0x01;
const MESSAGE_EXPIRY = [0x02, 0, 0, 0, 60];
const CONTENT_TYPE = [0x03, ...sized("text/plain")];
const USER_PROPERTY = [0x26, ...sized("k"), ...sized("v")];
const CORRELATION_DATA = [0x09, ...sized("corr")];

async function subscriber(topic: string): Promise<RawClient> {
  const sub = await raw5();
  await sub.subscribe(topic, { qos: 1 });
  return sub;
}

describe("Payload Format Indicator other than 0 or 1", { concurrency: true }, () => {
  test("a PUBLISH with Payload Format Indicator 2 gets DISCONNECT 0x82, the connection closes, nothing is delivered", async () => {
    const topic = uid("pfi/");
    const sub = await subscriber(topic);
    const pub = await raw5();
    pub.socket.write(publishBytes(topic, [PFI, 2], "two"));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, PROTOCOL_ERROR);
    await pub.closed;
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });

  test("QoS 1, indicator 0xFF after other properties: DISCONNECT 0x82 and no PUBACK", async () => {
    const topic = uid("pfi/");
    const sub = await subscriber(topic);
    const pub = await raw5();
    pub.socket.write(publishBytes(topic, [...MESSAGE_EXPIRY, ...USER_PROPERTY, ...CONTENT_TYPE, ...CORRELATION_DATA, PFI, 0xff], "x", 1, 7));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, PROTOCOL_ERROR);
    await pub.closed;
    assert.equal(pub.received.some((p) => p.cmd === "puback"), false);
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });

  test("QoS 2 with indicator 2: DISCONNECT 0x82 and no PUBREC", async () => {
    const pub = await raw5();
    pub.socket.write(publishBytes(uid("pfi/"), [PFI, 2, ...USER_PROPERTY], "x", 2, 9));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, PROTOCOL_ERROR);
    await pub.closed;
    assert.equal(pub.received.some((p) => p.cmd === "pubrec"), false);
  });

  test("the indicator repeated, 1 then 2: the 2 is found", async () => {
    const pub = await raw5();
    pub.socket.write(publishBytes(uid("pfi/"), [PFI, 1, ...CONTENT_TYPE, PFI, 2], "x"));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, PROTOCOL_ERROR);
    await pub.closed;
  });

  test("packets before the bad one in the same write are handled first", async () => {
    const topic = uid("pfi/");
    const sub = await subscriber(topic);
    const pub = await raw5();
    pub.socket.write(Buffer.concat([publishBytes(topic, [PFI, 1], "first", 1, 1), publishBytes(topic, [PFI, 3], "bad", 1, 2)]));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, PROTOCOL_ERROR);
    await pub.closed;
    assert.deepEqual(pub.received.filter((p) => p.cmd === "puback").map((p) => p.messageId), [1]);
    const [got] = (await sub.publishes(1)) as IPublishPacket[];
    assert.equal(got!.payload.toString(), "first");
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });
});

// Review of issue 11: mqtt-packet bounds string and binary properties by the packet, not byte and
// integer ones. A property section claiming more bytes than the packet holds took the value of a
// Payload Format Indicator at the packet's very end from the NEXT packet's first byte (0x30): the
// PUBLISH was forwarded with indicator 1, past the 0-or-1 check, which reads the packet only.
describe("a property value past the end of its packet", () => {
  test("an indicator whose value byte lies in the next packet is malformed: DISCONNECT 0x81, nothing delivered", async () => {
    const topic = uid("pfi/");
    const sub = await subscriber(topic);
    const pub = await raw5();
    // Properties length 2 (identifier and value), but the packet ends after the identifier.
    const body = [...sized(topic), 2, PFI];
    const truncated = Buffer.from([0x30, ...varInt(body.length), ...body]);
    pub.socket.write(Buffer.concat([truncated, publishBytes(topic, [], "next")]));
    assert.equal(((await pub.next("disconnect")) as IDisconnectPacket).reasonCode, 0x81);
    await pub.closed;
    assert.equal(await noPacket(sub, "publish", 200), true);
    await sub.disconnect();
  });
});

describe("Payload Format Indicator 0 and 1", { concurrency: true }, () => {
  for (const value of [0, 1]) {
    test(`indicator ${value} is delivered to a subscriber as sent`, async () => {
      const topic = uid("pfi/");
      const sub = await subscriber(topic);
      const pub = await raw5();
      pub.socket.write(publishBytes(topic, [...MESSAGE_EXPIRY, PFI, value, ...USER_PROPERTY], "ok", 1, 3));
      assert.equal((await pub.next("puback")).messageId, 3);
      const [got] = (await sub.publishes(1)) as IPublishPacket[];
      assert.equal(got!.payload.toString(), "ok");
      // mqtt-packet reads the byte as `byte !== 0`; false means present and 0.
      assert.equal(got!.properties?.payloadFormatIndicator, value === 1);
      assert.equal(got!.properties?.userProperties?.k, "v");
      assert.equal(pub.isClosed, false);
      await pub.disconnect();
      await sub.disconnect();
    });
  }

  test("a 3.1.1 subscriber gets the message without properties", async () => {
    const topic = uid("pfi/");
    const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 4 });
    await sub.subscribe(topic, { qos: 0 });
    const pub = await raw5();
    pub.socket.write(publishBytes(topic, [PFI, 1], "plain"));
    const [got] = (await sub.publishes(1)) as IPublishPacket[];
    assert.equal(got!.payload.toString(), "plain");
    await pub.disconnect();
    await sub.disconnect();
  });
});
