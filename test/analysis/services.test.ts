import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink } from "../helpers/smtp_sink.js";
import { call, consoleLine, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";

// The services an analysis calls, and run mode "external" with the SDK's Analysis class.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(async () => {
  await sluice.close();
});

/** mosquitto_sub as a device, for one message on `topic`; resolves with what it printed. */
function mosquittoSub(token: string, topic: string): { process: ChildProcess; message: Promise<string> } {
  const child = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", token, "-t", topic, "-q", "1", "-C", "1", "-W", "15", "-F", "%t|%q|%p"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const message = new Promise<string>((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`mosquitto_sub exited ${code}: ${err}`)))),
  );
  message.catch(() => {});
  return { process: child, message };
}

async function subscribed(topic: string): Promise<void> {
  await waitFor(() => {
    for (const ns of sluice.server.broker.namespaceList()) for (const session of ns.sessions.values()) if (session.subscriptions.has(topic)) return true;
    return false;
  }, 5000, `a subscription on ${topic}`);
}

describe("services from an analysis run by Sluice", () => {
  test("a TagoIO-style analysis reads the device's data and publishes to the device over MQTT", async () => {
    const dev = await sluice.device();
    const other = await sluice.device();
    const resources = resourcesOf(sluice);
    await resources.devices.sendDeviceData(dev.deviceId, [{ variable: "setpoint", value: 42 }]);
    const code = `
      const { Analysis, Resources, Services } = require("@tago-io/sdk");
      async function myAnalysis(context, scope) {
        const env = Object.fromEntries(context.environment.map((e) => [e.key, e.value]));
        const resources = new Resources({ token: context.token });
        const [last] = await resources.devices.getDeviceData(env.device_id, { variables: ["setpoint"], qty: 1 });
        context.log("read setpoint", last.value);
        const services = new Services({ token: context.token });
        await services.MQTT.publish({ topic: "downlink/setpoint", message: JSON.stringify({ setpoint: last.value }), device: env.device_id, options: { qos: 1 } });
        context.log("published");
      }
      Analysis.use(myAnalysis);`;
    const { id } = await createAnalysis(resources, code, { variables: [{ key: "device_id", value: dev.deviceId }] });
    const sub = mosquittoSub(dev.token, "downlink/setpoint");
    const bystander = await sluice.connect({ username: "Token", password: other.token });
    await bystander.subscribeAsync("downlink/setpoint");
    let leaked = false;
    bystander.on("message", () => (leaked = true));
    await subscribed("downlink/setpoint");
    await waitFor(() => {
      let n = 0;
      for (const ns of sluice.server.broker.namespaceList()) for (const s of ns.sessions.values()) if (s.subscriptions.has("downlink/setpoint")) n++;
      return n === 2;
    });
    await resources.analysis.run(id);
    assert.equal(await sub.message, 'downlink/setpoint|1|{"setpoint":42}');
    await consoleLine(sluice, id, /^published$/);
    assert.ok((await call(sluice, "GET", `/analysis/${id}/logs`)).body.result.some((l: { message: string }) => l.message === "read setpoint 42"));
    assert.equal(leaked, false, "only the named device's sessions get the message");
  });

  test("mqtt/publish validates its body and refuses another account's device", async () => {
    const { token } = await resourcesOf(sluice).analysis.create({ name: "svc" });
    const dev = await sluice.device({ accountId: await sluice.account() });
    const bad = async (body: unknown) => (await call(sluice, "POST", "/analysis/services/mqtt/publish", body, token));
    assert.match((await bad({ message: "x", device: "d" })).body.message, /topic/);
    assert.match((await bad({ topic: "a/#", message: "x", device: "d" })).body.message, /topic/);
    assert.match((await bad({ topic: "a", device: "d" })).body.message, /message/);
    assert.match((await bad({ topic: "a", message: "x" })).body.message, /device/);
    assert.match((await bad({ topic: "a", message: "x", device: "d", qos: 3 })).body.message, /qos/);
    assert.equal((await bad({ topic: "a", message: "x", device: dev.deviceId })).status, 404);
  });

  test("mqtt/publish counts against the plan's publishes per minute, like a device's publish", async () => {
    const limited = await startSluice({ plans: { tiny: { publishesPerMinute: 2 } }, defaultPlan: "tiny" });
    try {
      const { token } = await resourcesOf(limited).analysis.create({ name: "publisher" });
      const dev = await limited.device();
      const publish = () => call(limited, "POST", "/analysis/services/mqtt/publish", { topic: "down", message: "x", device: dev.deviceId }, token);
      assert.equal((await publish()).status, 200);
      assert.equal((await publish()).status, 200);
      const refused = await publish();
      assert.equal(refused.status, 429);
      assert.match(refused.body.message, /publishes per minute/);
    } finally {
      await limited.close();
    }
  });

  test("console/send needs an analysis token; notification and email validate, then deliver (email off without SMTP)", async () => {
    const { id, token } = await resourcesOf(sluice).analysis.create({ name: "svc2" });
    const services = new sdk.Services({ token, region: { api: sluice.api, sse: "" } });
    await services.console.log("hello from the SDK");
    await consoleLine(sluice, id, /^hello from the SDK$/);
    assert.equal((await call(sluice, "POST", "/analysis/services/console/send", { message: "x" })).status, 400);
    const post = (path: string, body: unknown) => call(sluice, "POST", `/analysis/services/${path}`, body, token);
    assert.match((await post("notification/send", { message: "m" })).body.message, /title/);
    assert.equal((await post("notification/send", { title: "from an analysis", message: "m" })).status, 200);
    const listed = await call(sluice, "GET", "/notification", undefined, sluice.adminToken);
    assert.ok((listed.body.result as { title: string }[]).some((n) => n.title === "from an analysis"));
    assert.match((await post("email/send", { subject: "s", message: "m" })).body.message, /^to /);
    assert.match((await post("email/send", { to: "a@b.c", message: "m" })).body.message, /subject/);
    assert.match((await post("email/send", { to: "a@b.c", subject: "s" })).body.message, /message/);
    const email = await post("email/send", { to: ["a@b.c"], subject: "s", html: "<p>x</p>" });
    assert.equal(email.status, 503);
    assert.match(email.body.message, /not configured/);
  });

  test("the email service sends through the configured SMTP server", async () => {
    const smtp = await startSmtpSink();
    // The sink offers no STARTTLS: requireTLS (on by default) is turned off for it.
    const mailing = await startSluice({ smtp: { ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, from: "Sluice <alerts@sluice.test>" } });
    try {
      const { token } = await resourcesOf(mailing).analysis.create({ name: "mailer" });
      const services = new sdk.Services({ token, region: { api: mailing.api, sse: "" } });
      await services.email.send({ to: "ops@example.com", subject: "Tank low", message: "Level at 8 %" });
      const [mail] = await smtp.waitFor(1);
      assert.deepEqual(mail!.to, ["ops@example.com"]);
      assert.equal(mail!.headers.subject, "Tank low");
      assert.match(mail!.text, /Level at 8 %/);
    } finally {
      await mailing.close();
      await smtp.close();
    }
  });
});

describe("run mode external", () => {
  test("the SDK's Analysis on another process gets /info, listens on SSE, runs per trigger and logs to the console", async () => {
    const resources = resourcesOf(sluice);
    const { id, token } = await resources.analysis.create({ name: "remote one", run_on: "external", variables: [{ key: "MODE", value: "remote" }] as never });
    const api = sluice.api;
    const code = `
      const { Analysis } = require("@tago-io/sdk");
      new Analysis(async (context, scope) => {
        const env = Object.fromEntries(context.environment.map((e) => [e.key, e.value]));
        context.log("remote got", scope[0].value, env.MODE, context.analysis_id);
      }, { token: ${JSON.stringify(token)}, region: { api: ${JSON.stringify(api)}, sse: ${JSON.stringify(`${api}/events`)} } });`;
    const child = spawn(process.execPath, ["-e", code], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.includes("Waiting for analysis trigger"), 10_000, `the external analysis to connect (output: ${out})`);
      assert.match(out, /Analysis \[remote one\]/);
      const { status, body } = await call(sluice, "POST", `/analysis/${id}/run`, { scope: [{ variable: "v", value: 7 }] });
      assert.equal(status, 200);
      assert.equal(body.result.delivered, true);
      await consoleLine(sluice, id, new RegExp(`^remote got 7 remote ${id}$`));
    } finally {
      child.kill("SIGKILL");
    }
    // Nobody listening any more: the console says the run went nowhere.
    await waitFor(async () => (await call(sluice, "POST", `/analysis/${id}/run`, { scope: [] })).body.result.delivered === false);
    await consoleLine(sluice, id, /No external runner is connected/);
  });

  test("/info answers a device token with its device and refuses an account token as before", async () => {
    const dev = await sluice.device();
    const info = await call(sluice, "GET", "/info", undefined, dev.token);
    assert.equal(info.body.result.id, dev.deviceId);
    assert.equal((await call(sluice, "GET", "/info", undefined, sluice.adminToken)).status, 401);
    const { id, token } = await resourcesOf(sluice).analysis.create({ name: "who", run_on: "external" });
    const mine = await call(sluice, "GET", "/info", undefined, token);
    assert.deepEqual([mine.body.result.id, mine.body.result.name, mine.body.result.run_on], [id, "who", "external"]);
  });
});
