import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RelayJson, RelayStateEventJson } from "../../src/http/api_types.js";
import { startMosquitto, type TestMosquitto } from "../helpers/mosquitto.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { openStream, type SseStreamClient } from "../helpers/sse_client.js";

// The `relay_state` channel of /events: a relay's status each time its connection changes or
// it reports an error, and null when it is deleted; what the console's relay list follows.

let mosq: TestMosquitto;
let sluice: TestSluice;
before(async () => {
  mosq = await startMosquitto();
  sluice = await startSluice();
});
after(async () => {
  await sluice.close();
  await mosq.close();
});

async function call<T>(method: string, path: string, body?: unknown, token = sluice.adminToken): Promise<{ status: number; result: T; message: string }> {
  const res = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await res.json()) as { result: T; message: string };
  return { status: res.status, result: envelope.result, message: envelope.message };
}

/** Reads the stream until an event about `relay` satisfies `want`; returns it. */
async function until(stream: SseStreamClient, relay: string, want: (e: RelayStateEventJson) => boolean): Promise<RelayStateEventJson> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const message = JSON.parse((await stream.next(Math.max(1, deadline - Date.now()))).data) as { channel: string; payload: RelayStateEventJson };
    assert.equal(message.channel, "relay_state");
    if (message.payload.relay === relay && want(message.payload)) return message.payload;
  }
}

const relayBody = (extra: Record<string, unknown> = {}) => ({
  name: "live",
  host: "127.0.0.1",
  port: mosq.port,
  username: mosq.user,
  password: mosq.password,
  subscriptions: [{ topic: "live/+/up", qos: 1 }],
  mapping: { source: "topic", index: 1, match: "serial" },
  reconnect_min_ms: 200,
  reconnect_max_ms: 400,
  ...extra,
});

test("relay_state: connecting, connected, disconnected when the broker goes, stopped when made inactive, null when deleted", async () => {
  const stream = await openStream(`${sluice.api}/events?channels=relay_state&token=${sluice.adminToken}`);
  try {
    const id = (await call<{ relay: string }>("POST", "/relay", relayBody())).result.relay;
    await until(stream, id, (e) => e.status?.state === "connecting");
    const up = await until(stream, id, (e) => e.status?.state === "connected");
    assert.equal(up.status!.connected, true);
    assert.ok(up.status!.connected_at);
    assert.equal(typeof up.status!.counters.messages_in, "number");
    // The list carries the same status.
    const listed = (await call<RelayJson[]>("GET", "/relay")).result.find((r) => r.id === id)!;
    assert.equal(listed.status.state, "connected");

    await mosq.stop();
    const down = await until(stream, id, (e) => e.status?.state === "disconnected");
    assert.equal(down.status!.connected, false);
    assert.equal(down.status!.connected_at, null);
    await mosq.start();
    await until(stream, id, (e) => e.status?.state === "connected");

    await call("PUT", `/relay/${id}`, { active: false });
    const stopped = await until(stream, id, (e) => e.status?.state === "stopped");
    assert.equal(stopped.status!.connected, false);

    await call("DELETE", `/relay/${id}`);
    assert.equal((await until(stream, id, (e) => e.status === null)).status, null);
  } finally {
    stream.close();
  }
});

test("relay_state: a refused CONNECT is told with its error; another account hears nothing", async () => {
  const other = await sluice.server.identity.issueAccountToken(await sluice.account(), { name: "other" });
  const stream = await openStream(`${sluice.api}/events?channels=relay_state&token=${sluice.adminToken}`);
  const otherStream = await openStream(`${sluice.api}/events?channels=relay_state&token=${other.token}`);
  try {
    const id = (await call<{ relay: string }>("POST", "/relay", relayBody({ name: "wrong", password: "wrong password" }))).result.relay;
    const failed = await until(stream, id, (e) => e.status?.last_error !== null && e.status?.last_error !== undefined);
    assert.match(failed.status!.last_error!, /Not authorized|Bad user name or password/i);
    assert.ok(failed.status!.last_error_at);
    await call("DELETE", `/relay/${id}`);
    await until(stream, id, (e) => e.status === null);
    assert.equal(otherStream.pending, 0);
  } finally {
    stream.close();
    otherStream.close();
  }
});
