import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { nextMessages } from "../helpers/sluice.js";

// `sluice start` as a user runs it: a child process of the compiled CLI on a fresh data dir,
// every port 0.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface Started {
  child: ChildProcess;
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(extra: string[] = [], dataDir = mkdtempSync(join(tmpdir(), "sluice-cli-start-"))): Started {
  const args = [MAIN, "start", "--data-dir", dataDir, "--host", "127.0.0.1", "--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0", ...extra];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLUICE_LOG_LEVEL: "info" } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, dataDir, stdout: () => out, stderr: () => err, exited };
}

/** Waits until the server logged that it is up (or died). */
async function up(s: Started, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void s.exited.then(() => (exited = true));
  while (!/sluice is up/.test(s.stdout())) {
    if (exited) throw new Error(`sluice start exited early: ${s.stderr()} ${s.stdout()}`);
    if (Date.now() > deadline) throw new Error(`not up within ${timeoutMs} ms: ${s.stderr()} ${s.stdout()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("sluice start", () => {
  let s: Started;
  let ports: { mqtt: number; mqtts: number; ws: number; wss: number; http: number; https: number };
  before(async () => {
    s = startCli();
    await up(s);
    ports = JSON.parse(readFileSync(join(s.dataDir, "ports.json"), "utf8"));
  });
  after(async () => {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill("SIGKILL");
      await s.exited;
    }
    rmSync(s.dataDir, { recursive: true, force: true });
  });

  test("writes the ports it bound to ports.json", () => {
    for (const name of ["mqtt", "mqtts", "ws", "wss", "http", "https"] as const) {
      assert.ok(Number.isInteger(ports[name]) && ports[name] > 0, `${name}: ${ports[name]}`);
    }
    assert.equal(new Set(Object.values(ports)).size, 6, "six different ports");
  });

  test("writes the admin user's setup link to a file only its owner can read", () => {
    const path = join(s.dataDir, "setup-link");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, "utf8").trim(), new RegExp(`^http://127\\.0\\.0\\.1:${ports.http}/#/setup/[A-Za-z0-9_-]{43}$`));
  });

  test("writes the admin token to a file only its owner can read", () => {
    const path = join(s.dataDir, "admin-token");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, "utf8").trim(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test("generates a self-signed certificate and a private key only its owner can read", () => {
    assert.match(readFileSync(join(s.dataDir, "tls", "cert.pem"), "utf8"), /BEGIN CERTIFICATE/);
    assert.equal(statSync(join(s.dataDir, "tls", "key.pem")).mode & 0o777, 0o600);
  });

  test("GET /metrics shows MQTT connections and packet counters after MQTT traffic", async () => {
    const adminToken = readFileSync(join(s.dataDir, "admin-token"), "utf8").trim();
    const created = await fetch(`http://127.0.0.1:${ports.http}/device`, {
      method: "POST",
      headers: { token: adminToken, "content-type": "application/json" },
      body: JSON.stringify({ name: "cli-start-metrics" }),
    });
    assert.equal(created.status, 200);
    const { result } = (await created.json()) as { result: { token: string } };
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { username: "Token", password: result.token, reconnectPeriod: 0 });
    try {
      await client.subscribeAsync("metrics/t", { qos: 1 });
      const got = nextMessages(client);
      await client.publishAsync("metrics/t", "21.5", { qos: 1 });
      await got;
      const body = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
      assert.match(body, /^sluice_mqtt_connections\{transport="tcp"\} 1$/m);
      assert.match(body, /^sluice_mqtt_packets_received_total\{type="connect"\} [1-9]/m);
      assert.match(body, /^sluice_mqtt_packets_received_total\{type="publish"\} [1-9]/m);
      assert.match(body, /^sluice_mqtt_packets_received_total\{type="subscribe"\} [1-9]/m);
      assert.match(body, /^sluice_mqtt_packets_sent_total\{type="connack"\} [1-9]/m);
      assert.match(body, /^sluice_mqtt_packets_sent_total\{type="publish"\} [1-9]/m);
    } finally {
      await client.endAsync();
    }
  });

  test("writes its pid to sluice.pid (how `sluice restore` knows it runs)", () => {
    assert.equal(readFileSync(join(s.dataDir, "sluice.pid"), "utf8").trim(), String(s.child.pid));
  });

  test("SIGTERM shuts it down with exit code 0, and sluice.pid goes", async () => {
    s.child.kill("SIGTERM");
    const { code, signal } = await s.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, s.stderr());
    assert.equal(existsSync(join(s.dataDir, "sluice.pid")), false);
  });
});

test("sluice start refuses a bad flag value, naming it, and exits non-zero", async () => {
  const s = startCli(["--sys-interval", "often"]);
  const { code } = await s.exited;
  rmSync(s.dataDir, { recursive: true, force: true });
  assert.notEqual(code, 0);
  assert.match(s.stderr(), /sysInterval/);
});

test("sluice start refuses an unknown flag and exits non-zero", async () => {
  const s = startCli(["--mqtt-prot", "1883"]);
  const { code } = await s.exited;
  rmSync(s.dataDir, { recursive: true, force: true });
  assert.notEqual(code, 0);
  assert.match(s.stderr(), /--mqtt-prot/);
});

test("a restart on the same data dir keeps the admin token and certificate", async () => {
  const first = startCli();
  await up(first);
  const token = readFileSync(join(first.dataDir, "admin-token"), "utf8");
  const cert = readFileSync(join(first.dataDir, "tls", "cert.pem"), "utf8");
  first.child.kill("SIGTERM");
  assert.equal((await first.exited).code, 0);
  const second = startCli([], first.dataDir);
  try {
    await up(second);
    assert.equal(readFileSync(join(first.dataDir, "admin-token"), "utf8"), token);
    assert.equal(readFileSync(join(first.dataDir, "tls", "cert.pem"), "utf8"), cert);
    second.child.kill("SIGTERM");
    assert.equal((await second.exited).code, 0);
  } finally {
    second.child.kill("SIGKILL");
    rmSync(first.dataDir, { recursive: true, force: true });
  }
});

test("the package's bin entry is the compiled CLI", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
  assert.ok(existsSync(join(ROOT, pkg.bin.sluice!)), `${pkg.bin.sluice} exists after the build`);
});
