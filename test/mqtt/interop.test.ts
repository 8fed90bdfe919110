import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

// Another implementation than the one the broker is tested with everywhere else: the
// mosquitto command-line clients, with a device token as password, over TCP and TLS, in
// MQTT 3.1.1 and 5.0.

let sluice: TestSluice;
let token: string;
before(async () => {
  sluice = await startSluice({ sysInterval: 1 });
  token = (await sluice.device()).token;
});
after(() => sluice.close());

type Version = "mqttv311" | "mqttv5";
interface Target {
  tls: boolean;
}

function connectionArgs(version: Version, { tls }: Target, password = token): string[] {
  const args = ["-h", "127.0.0.1", "-p", String(tls ? sluice.ports.mqtts : sluice.ports.mqtt), "-V", version, "-u", "Token", "-P", password];
  if (tls) args.push("--cafile", join(sluice.dataDir, "tls", "cert.pem"));
  return args;
}

/** Runs mosquitto_pub to completion. */
function mosquittoPub(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile("mosquitto_pub", args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stderr });
    });
  });
}

interface Received {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
}

/** Resolves once some session of the broker holds a subscription on exactly `filter`. */
async function subscriptionOn(filter: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const ns of sluice.server.broker.namespaceList()) {
      for (const session of ns.sessions.values()) if (session.subscriptions.has(filter)) return;
    }
    if (Date.now() > deadline) throw new Error(`nobody subscribed to ${filter} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts mosquitto_sub for one message on `topic`; `subscribed` resolves once the broker holds
 * its subscription (its stdout is block-buffered into a pipe, so the broker is asked), and
 * `message` with what it printed.
 */
function mosquittoSub(args: string[], topic: string): { subscribed: Promise<void>; message: Promise<Received> } {
  const child = spawn("mosquitto_sub", [...args, "-t", topic, "-C", "1", "-W", "8", "-F", "MSG:%t|%q|%r|%p"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const message = new Promise<Received>((resolve, reject) => {
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("MSG:"));
      if (code !== 0 || !line) {
        reject(new Error(`mosquitto_sub exited ${code}: ${err.trim()} ${out.trim()}`));
        return;
      }
      const [t, qos, retain, ...payload] = line.slice(4).split("|");
      resolve({ topic: t!, qos: Number(qos), retain: retain === "1", payload: payload.join("|") });
    });
  });
  message.catch(() => {}); // awaited by the test; this only keeps an early failure from going unhandled
  return { subscribed: Promise.race([subscriptionOn(topic), message.then(() => {})]), message };
}

let serial = 0;
const topicFor = (what: string) => `interop/${what}/${serial++}`;

for (const tls of [false, true]) {
  const over = tls ? "TLS" : "TCP";
  for (const version of ["mqttv311", "mqttv5"] as const) {
    describe(`mosquitto ${version} over ${over}`, () => {
      for (const qos of [0, 1, 2] as const) {
        test(`mosquitto_pub at QoS ${qos} reaches an MQTT.js subscriber`, async () => {
          const topic = topicFor("pub");
          const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
          await sub.subscribeAsync(topic, { qos: 2 });
          const got = nextMessages(sub);
          const run = await mosquittoPub([...connectionArgs(version, { tls }), "-t", topic, "-m", `from mosquitto q${qos}`, "-q", String(qos)]);
          assert.equal(run.code, 0, run.stderr);
          const [m] = await got;
          assert.equal(m!.payload, `from mosquitto q${qos}`);
          assert.equal(m!.packet.qos, qos);
        });

        test(`an MQTT.js publisher at QoS ${qos} reaches mosquitto_sub`, async () => {
          const topic = topicFor("sub");
          const sub = mosquittoSub([...connectionArgs(version, { tls }), "-q", "2"], topic);
          await sub.subscribed;
          const pub = await sluice.connect({ username: "Token", password: token, protocolVersion: 4 });
          await pub.publishAsync(topic, `from mqtt.js q${qos}`, { qos });
          const m = await sub.message;
          assert.deepEqual(m, { topic, qos, retain: false, payload: `from mqtt.js q${qos}` });
        });
      }

      test("a message retained by mosquitto_pub -r is given to a later MQTT.js subscriber", async () => {
        const topic = topicFor("retained-pub");
        const run = await mosquittoPub([...connectionArgs(version, { tls }), "-t", topic, "-m", "kept", "-q", "1", "-r"]);
        assert.equal(run.code, 0, run.stderr);
        const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
        const got = nextMessages(sub);
        await sub.subscribeAsync(topic, { qos: 1 });
        const [m] = await got;
        assert.equal(m!.payload, "kept");
        assert.equal(m!.packet.retain, true);
      });

      test("a message retained by MQTT.js is given to a later mosquitto_sub, flagged retained", async () => {
        const topic = topicFor("retained-sub");
        const pub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
        await pub.publishAsync(topic, "kept for mosquitto", { qos: 1, retain: true });
        const m = await mosquittoSub([...connectionArgs(version, { tls }), "-q", "1"], topic).message;
        assert.deepEqual(m, { topic, qos: 1, retain: true, payload: "kept for mosquitto" });
      });

      test("mosquitto_pub with a wrong token is refused", async () => {
        const run = await mosquittoPub([...connectionArgs(version, { tls }, "not-a-token"), "-t", topicFor("refused"), "-m", "x"]);
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /bad user name or password|not authori[sz]ed/i);
      });
    });
  }
}

describe("$SYS through mosquitto_sub", () => {
  for (const version of ["mqttv311", "mqttv5"] as const) {
    test(`mosquitto_sub ${version} reads $SYS/broker/clients/connected`, async () => {
      const m = await mosquittoSub(connectionArgs(version, { tls: false }), "$SYS/broker/clients/connected").message;
      assert.equal(m.topic, "$SYS/broker/clients/connected");
      assert.match(m.payload, /^\d+$/);
      assert.ok(Number(m.payload) >= 1, `it counts at least itself (${m.payload})`);
    });
  }
});
