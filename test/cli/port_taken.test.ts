import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// A new user's first start often meets a port already taken (another broker on 1883). Sluice
// must say which listener, which port and how to move it, in one line, and exit 1: not an
// unhandled 'error' event with a stack trace.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dirs: string[] = [];
const held: Server[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const s of held) s.close();
});

async function takenPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  held.push(server);
  return (server.address() as AddressInfo).port;
}

function start(ports: Record<string, number>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-port-taken-"));
  dirs.push(dir);
  const args = [MAIN, "start", "--data-dir", dir, "--host", "127.0.0.1", "--log-level", "warn", "--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0"];
  for (const [flag, port] of Object.entries(ports)) args[args.indexOf(`--${flag}`) + 1] = String(port);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => child.on("close", (code) => (clearTimeout(timer), resolve({ code, stderr, stdout }))));
}

describe("a listener whose port is taken", () => {
  for (const [flag, name] of [["mqtt-port", "MQTT"], ["ws-port", "MQTT over WebSocket"], ["http-port", "HTTP API"], ["https-port", "HTTPS API"]] as const) {
    test(`--${flag}: one line naming the ${name} listener, the port and how to move it; exit status 1`, async () => {
      const port = await takenPort();
      const { code, stderr } = await start({ [flag]: port });
      assert.equal(code, 1);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
      assert.ok(lines[0]!.includes(`${name} cannot listen on 127.0.0.1:${port}: the port is in use`), lines[0]);
      const env = `SLUICE_${flag.toUpperCase().replace("-", "_")}`;
      assert.ok(lines[0]!.includes(`--${flag}`) && lines[0]!.includes(env), lines[0]);
      assert.ok(!/\n\s+at /.test(stderr), "no stack trace");
    });
  }
});
