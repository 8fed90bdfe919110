import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isPrivateAddress } from "../../src/outbound/address_policy.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Findings of the outside review of issue 9's fixes (branch `attack`), reproduced against a
// real server. Each test states the docs/security.md claim it checks.

const started: TestSluice[] = [];
after(() => Promise.all(started.map((s) => s.close())));

async function sluiceWith(overrides: Parameters<typeof startSluice>[0] = {}): Promise<TestSluice> {
  const s = await startSluice(overrides);
  started.push(s);
  return s;
}

async function call<T>(s: TestSluice, method: string, path: string, body?: unknown, token = s.adminToken): Promise<{ status: number; body: { status: boolean; result: T; message?: string } }> {
  const res = await fetch(`${s.api}${path}`, {
    method,
    headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status: boolean; result: T; message?: string } };
}

/** `::ffff:a.b.c.d` written in hex, as `[::ffff:7f00:1]` for 127.0.0.1. */
const hexMapped = (v4: string) => {
  const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
  return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
};

/**
 * A non-loopback IPv4 address of this host: one the address policy counts as public if there is
 * one (the case that matters: a public IP reaching what listens on 0.0.0.0), else any.
 */
function publicLocalIPv4(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((info) => info.family === "IPv4" && !info.internal);
  return (all.find((info) => !isPrivateAddress(info.address)) ?? all[0])?.address;
}

const relayBody = (host: string, port: number, password: string) => ({
  name: `to ${host}:${port}`, host, port, username: "x", password, reconnect_min_ms: 100, reconnect_max_ms: 300, subscriptions: ["#"], mapping: { source: "topic", index: -1 },
});

describe("relays never connect to Sluice's own broker (security.md, Outbound requests)", () => {
  test("not through a hex-written IPv4-mapped loopback address ([::ffff:7f00:1])", async () => {
    const s = await sluiceWith({ outbound: { allowPrivateTargets: true } });
    const dev = await s.device();
    const r = await call<{ relay: string }>(s, "POST", "/relay", relayBody(hexMapped("127.0.0.1"), s.ports.mqtt, dev.token));
    if (r.status === 200) {
      await sleep(1000);
      const status = await call<{ connected: boolean; counters: Record<string, number> }>(s, "GET", `/relay/${r.body.result.relay}/status`);
      await call(s, "DELETE", `/relay/${r.body.result.relay}`);
      assert.fail(`relay to its own broker accepted (connected: ${status.body.result.connected}, messages_in: ${status.body.result.counters.messages_in})`);
    }
    assert.equal(r.status, 400);
    assert.match(r.body.message ?? "", /own broker/);
  });

  test("not through the host's own non-loopback address written in hex, with allowPrivateTargets false", async (t) => {
    const local = publicLocalIPv4();
    if (local === undefined) return t.skip("no non-loopback public-range IPv4 on this host");
    const s = await sluiceWith({ host: "0.0.0.0", outbound: { allowPrivateTargets: false } });
    const dev = await s.device();
    const r = await call<{ relay: string }>(s, "POST", "/relay", relayBody(hexMapped(local), s.ports.mqtt, dev.token));
    if (r.status === 200) await call(s, "DELETE", `/relay/${r.body.result.relay}`);
    assert.equal(r.status, 400, `relay to ${hexMapped(local)}:${s.ports.mqtt} (this host) accepted`);
  });
});

describe("webhooks cannot reach the host itself with allowPrivateTargets false (security.md operator checklist)", () => {
  test("a post action to one of the host's own interface addresses is refused", async (t) => {
    const local = publicLocalIPv4();
    if (local === undefined) return t.skip("no non-loopback public-range IPv4 on this host");
    const s = await sluiceWith({ outbound: { allowPrivateTargets: false } });
    const { deviceId } = await s.device();
    const r = await call(s, "POST", "/action", { name: "self", type: "mqtt_topic", trigger: [{ device: deviceId, topic: "up" }], action: { type: "post", url: `http://${local}:${s.ports.http}/` } });
    assert.equal(r.status, 400, `a webhook to ${local} (this host) was accepted`);
    assert.match(r.body.message ?? "", /refused by outbound\.allowPrivateTargets/);
  });
});

describe("list filters cannot hold the event loop (security.md, HTTP requests cannot stop the server)", () => {
  test("a 256-character filter against a megabyte device name costs about what a trivial filter does", async () => {
    const s = await sluiceWith();
    const name = `${"a".repeat(1_000_000)}b`;
    for (let i = 0; i < 3; i++) {
      const created = await call(s, "POST", "/device", { name });
      assert.equal(created.status, 200, created.body.message);
    }
    // The fastest of a few runs, so a busy machine does not decide the verdict.
    const fastest = async (pattern: string) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const listed = await call<unknown[]>(s, "GET", `/device?fields=id&filter[name]=${encodeURIComponent(pattern)}`);
        best = Math.min(best, performance.now() - started);
        assert.equal(listed.status, 200);
        assert.equal(listed.body.result.length, 3);
      }
      return best;
    };
    const trivial = await fastest("*b");
    const worst = await fastest(`*${"a".repeat(254)}b`);
    // A backtracking matcher (RegExp, SQLite's LIKE, a greedy matcher) costs pattern × name:
    // 4.6 s per such device on the review machine; nine held the whole process for 43 s.
    assert.ok(worst < trivial * 10 + 300, `worst-case filter ${Math.round(worst)} ms, trivial one ${Math.round(trivial)} ms`);
  });
});

describe("analysis tokens cannot mint account tokens (security.md, Tokens; docs/accounts.md)", () => {
  test("an analysis token cannot create an analysis, whose token is a new full account token", async () => {
    const s = await sluiceWith();
    const analysis = await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "script" });
    assert.equal(analysis.status, 200);
    const minted = await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "minted" }, analysis.body.result.token);
    // Regenerating the first analysis's token would not end the minted one.
    await call(s, "GET", `/analysis/${analysis.body.result.id}/token`);
    if (minted.status === 200) {
      const stillValid = await call(s, "GET", "/device", undefined, minted.body.result.token);
      assert.fail(`an analysis token minted a full token that outlives its regeneration (GET /device with it: ${stillValid.status})`);
    }
    assert.equal(minted.status, 403);
  });

  test("the admin's analysis token cannot create accounts", async () => {
    const s = await sluiceWith();
    const analysis = await call<{ token: string }>(s, "POST", "/analysis", { name: "admin script" });
    const r = await call(s, "POST", "/admin/account", { name: "made by a script" }, analysis.body.result.token);
    assert.equal(r.status, 403);
  });

  test("an analysis token cannot upload scripts, which would read every token their analysis is later given", async () => {
    const s = await sluiceWith();
    const analysis = await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "script" });
    const file = Buffer.from("console.log(process.env.T_ANALYSIS_TOKEN)").toString("base64");
    const r = await call(s, "POST", `/analysis/${analysis.body.result.id}/upload`, { file, file_name: "a.js", language: "node" }, analysis.body.result.token);
    assert.equal(r.status, 403);
    assert.equal((await call(s, "POST", `/analysis/${analysis.body.result.id}/upload`, { file, file_name: "a.js", language: "node" })).status, 200);
  });

  test("an analysis token reads its own token but only masked tokens of other analyses", async () => {
    const s = await sluiceWith();
    const mine = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "mine" })).body.result;
    const other = (await call<{ id: string; token: string }>(s, "POST", "/analysis", { name: "other" })).body.result;
    const own = await call<{ token: string }>(s, "GET", `/analysis/${mine.id}`, undefined, mine.token);
    assert.equal(own.body.result.token, mine.token);
    const seen = await call<{ token: string }>(s, "GET", `/analysis/${other.id}`, undefined, mine.token);
    assert.equal(seen.status, 200);
    assert.notEqual(seen.body.result.token, other.token);
    assert.ok(!seen.body.result.token.includes(other.token.slice(9)), seen.body.result.token);
    const listed = await call<{ id: string; token: string }[]>(s, "GET", "/analysis", undefined, mine.token);
    assert.ok(listed.body.result.every((a) => a.id === mine.id || a.token !== other.token));
    const regenerated = await call(s, "GET", `/analysis/${other.id}/token`, undefined, mine.token);
    assert.equal(regenerated.status, 403);
    // An account token still sees every token, as on TagoIO.
    assert.equal((await call<{ token: string }>(s, "GET", `/analysis/${other.id}`)).body.result.token, other.token);
  });
});
