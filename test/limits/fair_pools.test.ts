import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { call, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp_sink.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook_sink.js";

// Issue 10, "one account floods a script or webhook action": account A floods each shared
// pool (analysis runs, webhook deliveries, email) past its share while its work hangs, holding
// every slot it can; account B's single item must still be served, and before any of A's
// held items ends. The pools are small (2 slots, 1 per account) so that a pool without
// per-account shares would give A every slot and make B wait for A's timeouts (20 s, far
// beyond the waits here).

const HELD_MS = 20_000;
let sluice: TestSluice;
let smtp: SmtpSink;
let hook: WebhookSink;
let a: { accountId: string; token: string };
let b: { accountId: string; token: string };

before(async () => {
  smtp = await startSmtpSink();
  hook = await startWebhookSink();
  sluice = await startSluice({
    analysis: { ...defaultConfig.analysis, concurrency: 2, concurrencyPerAccount: 1, queueSize: 20, queuePerAccount: 3, timeoutMs: HELD_MS },
    webhooks: { ...defaultConfig.webhooks, attempts: 1, timeoutMs: HELD_MS, concurrency: 2, concurrencyPerAccount: 1, maxPending: 50, maxPendingPerAccount: 3 },
    smtp: {
      ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, socketTimeoutMs: HELD_MS,
      concurrency: 2, concurrencyPerAccount: 1, maxWaiting: 20, maxWaitingPerAccount: 2,
    },
  });
  a = await sluice.server.identity.createAccount("flooder");
  b = await sluice.server.identity.createAccount("bystander");
});
after(async () => {
  // The sinks first: they let go of A's held requests, so the server does not wait out their timeouts.
  await Promise.all([smtp.close(), hook.close()]);
  await sluice.close();
});

/** Waits for a console line of the account's analysis. */
function consoleOf(token: string, id: string, pattern: RegExp) {
  return waitFor(async () => {
    const lines = (await call(sluice, "GET", `/analysis/${id}/logs`, undefined, token)).body.result as { message: string }[];
    return lines.some((l) => pattern.test(l.message));
  }, 15_000, `a console line matching ${pattern}`);
}

type Run = { analysis: string; status: string };

describe("shared pools are fair per account", () => {
  test("analysis runs: A's flood fills A's share and gets 429; B's run is accepted and runs while A's backlog waits", async () => {
    const hang = await createAnalysis(resourcesOf(sluice, a.token), `console.log("A holds a slot"); setTimeout(() => {}, ${HELD_MS * 2});`);
    const quick = await createAnalysis(resourcesOf(sluice, b.token), `console.log("B ran");`);
    const accepted = [];
    for (let i = 0; i < 4; i++) accepted.push(await call(sluice, "POST", `/analysis/${hang.id}/run`, {}, a.token));
    assert.deepEqual(accepted.map((r) => r.status), [200, 200, 200, 200], "one running and queuePerAccount (3) waiting");
    const refused = await call(sluice, "POST", `/analysis/${hang.id}/run`, {}, a.token);
    assert.equal(refused.status, 429);
    assert.match(refused.body.message, /account's analysis run queue is full \(3 waiting\)/);
    await consoleOf(a.token, hang.id, /A holds a slot/);

    // The global queue (20) is far from full: B is not refused for A's flood...
    const ran = await call(sluice, "POST", `/analysis/${quick.id}/run`, {}, b.token);
    assert.equal(ran.status, 200);
    // ...and runs to its end while A's first run still holds its slot and A's backlog still waits.
    await consoleOf(b.token, quick.id, /B ran/);
    const aRuns = (await call(sluice, "GET", "/analysis/runs", undefined, a.token)).body.result as Run[];
    assert.deepEqual(aRuns.map((r) => r.status), ["running", "queued", "queued", "queued"]);
    // Each account lists its own runs only.
    const bRuns = (await call(sluice, "GET", "/analysis/runs", undefined, b.token)).body.result as Run[];
    assert.ok(bRuns.every((r) => r.analysis === quick.id));
    await call(sluice, "DELETE", `/analysis/${hang.id}`, undefined, a.token); // drops A's waiting runs
  });

  test("webhooks: A's hanging endpoint holds one slot and A's excess is dead-lettered; B's delivery goes out at once", async () => {
    hook.respond = (_n, request) => (request.path === "/A" ? "hang" : 200);
    const actions: Record<string, string> = {};
    const devices: Record<string, { token: string }> = {};
    for (const [name, account] of [["A", a], ["B", b]] as const) {
      const device = await sluice.device({ accountId: account.accountId });
      devices[name] = device;
      const { action } = await resourcesOf(sluice, account.token).actions.create({
        name: `hook ${name}`, type: "mqtt_topic", trigger: [{ device: device.deviceId, topic: "t" } as never],
        action: { type: "post", url: `${hook.url}/${name}`, headers: {} } as never,
      });
      actions[name] = action;
    }
    const flooder = await sluice.connect({ username: "Token", password: devices.A!.token });
    for (let i = 0; i < 6; i++) await flooder.publishAsync("t", JSON.stringify({ variable: "n", value: i }), { qos: 1 });
    // maxPendingPerAccount is 3 (one in flight, two queued): the other three are A's dead letters.
    type Letter = { attempts: number; error: string };
    const letters = await waitFor(async () => {
      const list = (await call(sluice, "GET", `/action/${actions.A}/dead_letters`, undefined, a.token)).body.result as Letter[];
      return list.length >= 3 ? list : undefined;
    }, 5000, "A's dead letters");
    assert.ok(letters.every((l) => l.attempts === 0 && /pending for the account \(3\)/.test(l.error)), JSON.stringify(letters));
    await hook.waitFor(1);

    const bystander = await sluice.connect({ username: "Token", password: devices.B!.token });
    await bystander.publishAsync("t", JSON.stringify({ variable: "n", value: 1 }), { qos: 1 });
    await waitFor(() => hook.requests.some((r) => r.path === "/B"), 5000, "B's delivery");
    // Delivered while A's one request still hangs: A never held more than its one slot, and
    // none of A's attempts has ended (an ended one would be a dead letter with an attempt).
    assert.equal(hook.requests.filter((r) => r.path === "/A").length, 1);
    const after = (await call(sluice, "GET", `/action/${actions.A}/dead_letters`, undefined, a.token)).body.result as Letter[];
    assert.equal(after.length, 3);
    assert.ok(after.every((l) => l.attempts === 0));
    assert.equal((await call(sluice, "GET", `/action/${actions.B}/dead_letters`, undefined, b.token)).body.result.length, 0);
  });

  test("email: A's stalled mails hold one conversation and A's excess is EMAIL_BUSY; B's mail goes out at once", async () => {
    smtp.hold = (to) => to.some((address) => address.endsWith("@stalled.test"));
    const tokenOf = async (account: { token: string }) => (await resourcesOf(sluice, account.token).analysis.create({ name: "mailer" })).token;
    const send = (token: string, to: string) =>
      fetch(`${sluice.api}/analysis/services/email/send`, {
        method: "POST", headers: { token, "content-type": "application/json" },
        body: JSON.stringify({ to, subject: "s", message: "m" }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { message: string } }));
    const tokenA = await tokenOf(a);
    // One conversation (held by the sink) and two waiting: the fourth and fifth are refused.
    const answered: { to: string; status: number; body: { message: string } }[] = [];
    for (let i = 0; i < 5; i++) {
      const to = `a${i}@stalled.test`;
      void send(tokenA, to).then((r) => answered.push({ to, ...r }), () => undefined);
    }
    await waitFor(() => answered.length === 2 && smtp.held.length === 1, 5000, "A's refusals and A's held mail");
    for (const r of answered) {
      assert.equal(r.status, 503);
      assert.match(r.body.message, /2 emails of the account are already waiting/);
    }

    const sent = await send(await tokenOf(b), "b@example.com");
    assert.equal(sent.status, 200, sent.body.message);
    assert.deepEqual(smtp.mails.map((m) => m.to), [["b@example.com"]]);
    // Sent while A's held conversation has not ended and A's two waiting mails still wait.
    assert.equal(smtp.held.length, 1);
    assert.equal(answered.length, 2);

    // Once A's server answers again, A's held and waiting mails go out: exactly the ones not refused.
    smtp.release();
    await waitFor(() => answered.length === 5, 10_000, "A's accepted mails to be sent");
    assert.deepEqual(answered.slice(2).map((r) => r.status), [200, 200, 200]);
    const sentA = [...smtp.held, ...smtp.mails.slice(1)].map((m) => m.to[0]).sort();
    assert.deepEqual(sentA, answered.slice(2).map((r) => r.to).sort());
  });
});
