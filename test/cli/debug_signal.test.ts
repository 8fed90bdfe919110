import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// SIGUSR1 (what `process._debugProcess(pid)` sends) makes a Node process open its inspector,
// and a reachable inspector runs any code inside Sluice. `sluice start` as a user runs it, as
// a child process, with its inspector port set to a free one (`--inspect-port`) so the test
// does not depend on 9229.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("connect", () => (socket.destroy(), resolve(true))).on("error", () => resolve(false));
  });
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("SIGUSR1", () => {
  test("a plain Node process opens its inspector on it: the vector this guards against", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [`--inspect-port=${port}`, "-e", "setInterval(() => {}, 1000); console.log('ready')"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    await until(() => out.includes("ready"), 10_000, "the plain process");
    child.kill("SIGUSR1");
    let open = false;
    for (let i = 0; i < 40 && !open; i++) open = (await delay(50), await listening(port));
    assert.ok(open, "without a listener, SIGUSR1 opens the inspector");
  });

  test("`sluice start` ignores it: no inspector, a warning, and the server still serves", async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-sigusr1-"));
    dirs.push(dataDir);
    const args = [`--inspect-port=${port}`, MAIN, "start", "--data-dir", dataDir, "--host", "127.0.0.1", "--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLUICE_LOG_LEVEL: "info" } });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    await until(() => /sluice is up/.test(out), 20_000, "sluice to be up");

    child.kill("SIGUSR1");
    await until(() => /SIGUSR1 received and ignored/.test(out), 5_000, "the warning");
    await delay(500); // the inspector, were it starting, would be listening by now (see the test above)
    assert.equal(await listening(port), false, "the inspector port must stay closed");
    assert.equal(child.exitCode, null);
    const { http } = JSON.parse(readFileSync(join(dataDir, "ports.json"), "utf8")) as { http: number };
    const response = await fetch(`http://127.0.0.1:${http}/info`);
    assert.ok(response.status < 500, `status ${response.status}`);
    child.kill("SIGTERM");
  });
});
