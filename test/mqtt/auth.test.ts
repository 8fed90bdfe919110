import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IClientOptions, IDisconnectPacket, MqttClient } from "mqtt";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { WireClient } from "../helpers/wire.js";

// MQTT authentication: the password is a device token, whatever the user name; failures are
// refused in CONNACK and slowed down per address; credentials that stop being valid end the
// live connections that used them.

const BAD_USERNAME_OR_PASSWORD_V5 = 0x86;
const BAD_USERNAME_OR_PASSWORD_311 = 4;
const NOT_AUTHORIZED = 0x87;
const ADMINISTRATIVE_ACTION = 0x98;

let sluice: TestSluice;
let adminAccount: string;
before(async () => {
  sluice = await startSluice();
  adminAccount = (await sluice.server.identity.authenticateAccount(sluice.adminToken))!;
});
after(() => sluice.close());

/** Connects and expects a refusal; resolves with MQTT.js's error code. */
async function refusedWith(options: IClientOptions, on: TestSluice = sluice): Promise<number | undefined> {
  try {
    await on.connect(options);
  } catch (err) {
    return (err as { code?: number }).code;
  }
  assert.fail("the connection was accepted");
}

/** Resolves when the broker ends a connected client: the DISCONNECT it got (if any) and when the socket closed. */
function ended(client: MqttClient, timeoutMs = 3000): Promise<{ disconnect: IDisconnectPacket | undefined; at: number }> {
  return new Promise((resolve, reject) => {
    let disconnect: IDisconnectPacket | undefined;
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
    client.on("disconnect", (packet) => (disconnect = packet));
    client.once("close", () => {
      clearTimeout(timer);
      resolve({ disconnect, at: Date.now() });
    });
  });
}

describe("credentials", () => {
  test("a wrong token is refused with CONNACK 0x86 in MQTT 5", async () => {
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: "not-a-token" }), BAD_USERNAME_OR_PASSWORD_V5);
  });

  test("a wrong token is refused with return code 4 in MQTT 3.1.1", async () => {
    assert.equal(await refusedWith({ protocolVersion: 4, username: "Token", password: "not-a-token" }), BAD_USERNAME_OR_PASSWORD_311);
  });

  test("a connection without credentials is refused when anonymous access is off", async () => {
    assert.equal(await refusedWith({ protocolVersion: 5 }), BAD_USERNAME_OR_PASSWORD_V5);
    assert.equal(await refusedWith({ protocolVersion: 4 }), BAD_USERNAME_OR_PASSWORD_311);
  });

  test("a connection with a user name but no password is refused", async () => {
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token" }), BAD_USERNAME_OR_PASSWORD_V5);
  });

  test("any user name is accepted with a valid token", async () => {
    const { token } = await sluice.device();
    for (const username of ["Token", "whatever-I-like", "", "élan/#+"]) {
      const client = await sluice.connect({ protocolVersion: 5, username, password: token });
      assert.equal(client.connected, true, `user name ${JSON.stringify(username)}`);
      await client.endAsync();
    }
    const v311 = await sluice.connect({ protocolVersion: 4, username: "anything", password: token });
    assert.equal(v311.connected, true);
    await v311.endAsync();
  });

  test("an MQTT 5 client may send the token as password without any user name", async () => {
    // MQTT.js and mqtt-packet refuse to encode this (3.1.1 forbids it, 5.0 allows it): by hand.
    const { token } = await sluice.device();
    const clientId = Buffer.from("no-username");
    const password = Buffer.from(token);
    const body = Buffer.concat([
      Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x42, 0x00, 0x00, 0x00]), // "MQTT" v5, password + clean start, keep alive 0, no properties
      Buffer.from([clientId.length >> 8, clientId.length & 0xff]), clientId,
      Buffer.from([password.length >> 8, password.length & 0xff]), password,
    ]);
    const wire = await WireClient.open(sluice.ports.mqtt, 5);
    wire.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    const connack = await wire.next("connack");
    assert.equal(connack.reasonCode, 0);
    wire.destroy();
  });

  test("an expired token is refused", async () => {
    const { token } = await sluice.device({ expiresAt: new Date(Date.now() - 60_000) });
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: token }), BAD_USERNAME_OR_PASSWORD_V5);
    assert.equal(await refusedWith({ protocolVersion: 4, username: "Token", password: token }), BAD_USERNAME_OR_PASSWORD_311);
  });

  test("an account token is not an MQTT credential", async () => {
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: sluice.adminToken }), BAD_USERNAME_OR_PASSWORD_V5);
  });

  test("a token of a deactivated device is refused", async () => {
    const { token, deviceId } = await sluice.device();
    await sluice.server.identity.updateDevice(adminAccount, deviceId, { active: false });
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: token }), BAD_USERNAME_OR_PASSWORD_V5);
  });
});

describe("anonymous access", () => {
  let open: TestSluice;
  before(async () => {
    open = await startSluice({ allowAnonymous: true });
  });
  after(() => open.close());

  test("a connection without credentials is accepted when allowAnonymous is on", async () => {
    const client = await open.connect({ protocolVersion: 5 });
    assert.equal(client.connected, true);
    const v311 = await open.connect({ protocolVersion: 4 });
    assert.equal(v311.connected, true);
  });

  test("a wrong token is still refused when allowAnonymous is on", async () => {
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: "not-a-token" }, open), BAD_USERNAME_OR_PASSWORD_V5);
  });
});

describe("failure throttling", () => {
  let slow: TestSluice;
  before(async () => {
    slow = await startSluice({ authFailureDelayMs: 50, authFailureDelayMaxMs: 5000 });
  });
  after(() => slow.close());

  test("repeated failures from one address wait longer and longer for their CONNACK", async () => {
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: `wrong-${i}` }, slow), BAD_USERNAME_OR_PASSWORD_V5);
      delays.push(Date.now() - started);
    }
    const [first, , , fourth] = delays as [number, number, number, number];
    assert.ok(first >= 40, `the first failure is delayed too (${first} ms)`);
    assert.ok(fourth >= 300, `the fourth failure waits about 8× the base delay (${delays.join(", ")} ms)`);
    assert.ok(fourth > first + 200, `the delay grows (${delays.join(", ")} ms)`);
  });
});

describe("credentials that stop being valid", () => {
  test("revoking a token disconnects its live MQTT 5 connection within 1 s with DISCONNECT 0x98", async () => {
    const { token, tokenId } = await sluice.device();
    const client = await sluice.connect({ protocolVersion: 5, username: "Token", password: token });
    const end = ended(client);
    const started = Date.now();
    await sluice.server.identity.revokeToken(adminAccount, tokenId);
    const { disconnect, at } = await end;
    assert.ok(at - started < 1000, `closed after ${at - started} ms`);
    assert.equal(disconnect?.reasonCode, ADMINISTRATIVE_ACTION);
  });

  test("revoking a token closes its live MQTT 3.1.1 connection within 1 s", async () => {
    const { token, tokenId } = await sluice.device();
    const client = await sluice.connect({ protocolVersion: 4, username: "Token", password: token });
    const end = ended(client);
    const started = Date.now();
    await sluice.server.identity.revokeToken(adminAccount, tokenId);
    const { at } = await end;
    assert.ok(at - started < 1000, `closed after ${at - started} ms`);
  });

  test("revoking one token leaves the device's other tokens connected", async () => {
    const { token, tokenId, deviceId } = await sluice.device();
    const second = await sluice.server.identity.createToken(adminAccount, deviceId, { permission: "full" });
    const revoked = await sluice.connect({ protocolVersion: 5, username: "Token", password: token });
    const kept = await sluice.connect({ protocolVersion: 5, username: "Token", password: second.token });
    const end = ended(revoked);
    await sluice.server.identity.revokeToken(adminAccount, tokenId);
    await end;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(kept.connected, true);
  });

  test("a revoked token cannot connect again", async () => {
    const { token, tokenId } = await sluice.device();
    await sluice.server.identity.revokeToken(adminAccount, tokenId);
    assert.equal(await refusedWith({ protocolVersion: 5, username: "Token", password: token }), BAD_USERNAME_OR_PASSWORD_V5);
  });

  test("deleting a device disconnects its live connections within 1 s with DISCONNECT 0x98", async () => {
    const { token, deviceId } = await sluice.device();
    const client = await sluice.connect({ protocolVersion: 5, username: "Token", password: token });
    const end = ended(client);
    const started = Date.now();
    await sluice.server.identity.deleteDevice(adminAccount, deviceId);
    const { disconnect, at } = await end;
    assert.ok(at - started < 1000, `closed after ${at - started} ms`);
    assert.equal(disconnect?.reasonCode, ADMINISTRATIVE_ACTION);
  });

  test("deactivating a device disconnects its live connections within 1 s", async () => {
    const { token, deviceId } = await sluice.device();
    const client = await sluice.connect({ protocolVersion: 5, username: "Token", password: token });
    const end = ended(client);
    const started = Date.now();
    await sluice.server.identity.updateDevice(adminAccount, deviceId, { active: false });
    const { disconnect, at } = await end;
    assert.ok(at - started < 1000, `closed after ${at - started} ms`);
    assert.equal(disconnect?.reasonCode, ADMINISTRATIVE_ACTION);
  });

  test("a token that expires while connected is disconnected within about 1 s of its expiry with DISCONNECT 0x87", async () => {
    const expiresAt = new Date(Date.now() + 800);
    const { token } = await sluice.device({ expiresAt });
    const client = await sluice.connect({ protocolVersion: 5, username: "Token", password: token });
    const { disconnect, at } = await ended(client, 4000);
    assert.ok(at >= expiresAt.getTime(), `closed ${expiresAt.getTime() - at} ms before the expiry`);
    assert.ok(at - expiresAt.getTime() < 1000, `closed ${at - expiresAt.getTime()} ms after the expiry`);
    assert.equal(disconnect?.reasonCode, NOT_AUTHORIZED);
  });

  test("a token that expires while connected closes an MQTT 3.1.1 connection too", async () => {
    const expiresAt = new Date(Date.now() + 800);
    const { token } = await sluice.device({ expiresAt });
    const client = await sluice.connect({ protocolVersion: 4, username: "Token", password: token });
    const { at } = await ended(client, 4000);
    assert.ok(at >= expiresAt.getTime() && at - expiresAt.getTime() < 1000, `closed ${at - expiresAt.getTime()} ms after the expiry`);
  });
});
