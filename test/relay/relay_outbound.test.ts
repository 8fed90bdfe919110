import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Relays and outbound connections: never to Sluice's own broker (a loop), whatever
// allowPrivateTargets says; with it false, no loopback/private target either, and the status
// cannot tell an open port from a closed one.

const started: TestSluice[] = [];
after(() => Promise.all(started.map((s) => s.close())));

async function sluiceWith(allowPrivateTargets: boolean): Promise<TestSluice> {
  const s = await startSluice({ outbound: { allowPrivateTargets } });
  started.push(s);
  return s;
}

async function call<T>(s: TestSluice, method: string, path: string, body?: unknown): Promise<{ status: number; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${s.api}${path}`, {
    method,
    headers: { token: s.adminToken, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}

interface Status {
  connected: boolean;
  last_error: string | null;
  counters: Record<string, number>;
}

const relayBody = (host: string, port: number, extra: Record<string, unknown> = {}) => ({
  name: `to ${host}:${port}`, host, port, reconnect_min_ms: 100, reconnect_max_ms: 300, subscriptions: ["#"], mapping: { source: "topic", index: -1 }, ...extra,
});

/** Waits until the relay has failed `attempts` times and returns its status. */
async function failedStatus(s: TestSluice, id: string, attempts = 2): Promise<Status> {
  const end = Date.now() + 10_000;
  for (;;) {
    const { body } = await call<Status>(s, "GET", `/relay/${id}/status`);
    if (body.result.counters.reconnects! >= attempts && body.result.last_error) return body.result;
    if (Date.now() > end) throw new Error(`relay ${id} did not fail ${attempts} times: ${JSON.stringify(body.result)}`);
    await sleep(50);
  }
}

describe("relay targets", () => {
  test("a relay pointed at Sluice's own broker never connects, even with allowPrivateTargets true", async () => {
    const s = await sluiceWith(true);
    const dev = await s.device();
    const accountId = (await s.server.identity.authenticateAccount(s.adminToken))!;
    // A literal is refused on create; a name (localhost) only when connecting.
    const literal = await call(s, "POST", "/relay", relayBody("127.0.0.1", s.ports.mqtt, { username: "Token", password: dev.token }));
    assert.equal(literal.status, 400);
    assert.match(literal.body.message ?? "", /own broker/);
    const created = await call<{ relay: string }>(s, "POST", "/relay", relayBody("localhost", s.ports.mqtt, { username: "Token", password: dev.token }));
    assert.equal(created.status, 200, created.body.message);
    const st = await failedStatus(s, created.body.result.relay);
    assert.equal(st.connected, false);
    assert.match(st.last_error ?? "", /own broker/);
    assert.equal(s.server.broker.statsOf(accountId)?.connected ?? 0, 0, "no connection reached the broker");
  });

  test("allowPrivateTargets false: private literals refused on create; a name to loopback refused alike for an open and a closed port", async () => {
    const s = await sluiceWith(false);
    for (const host of ["10.1.2.3", "169.254.169.254", "::1", "[::ffff:127.0.0.1]"]) {
      const r = await call(s, "POST", "/relay", relayBody(host, 1883));
      assert.equal(r.status, 400, host);
      assert.match(r.body.message ?? "", /refused by outbound\.allowPrivateTargets/, host);
    }
    let accepted = 0;
    const listener = createServer((c) => {
      accepted++;
      c.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()));
    after(() => new Promise<void>((r) => listener.close(() => r())));
    const openPort = (listener.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const open = await call<{ relay: string }>(s, "POST", "/relay", relayBody("localhost", openPort));
    const shut = await call<{ relay: string }>(s, "POST", "/relay", relayBody("localhost", closedPort));
    assert.equal(open.status, 200, open.body.message);
    const a = await failedStatus(s, open.body.result.relay);
    const b = await failedStatus(s, shut.body.result.relay);
    assert.match(a.last_error ?? "", /refused by outbound\.allowPrivateTargets/);
    assert.equal(a.last_error, b.last_error, "the open and the closed port read the same");
    assert.equal(accepted, 0, "nothing connected to the local listener");
  });
});
