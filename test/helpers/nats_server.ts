import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free_port.js";

export const NATS_SERVER = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server";

export interface TestNats {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The monitoring endpoint (`/connz`, `/subsz`, `/healthz`): http://127.0.0.1:PORT */
  monitor: string;
  dir: string;
  /** Stops the process (its JetStream data stays). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}


/**
 * A real nats-server (Debian's) with JetStream, in a temp dir on free loopback ports, for the
 * cluster tests: the nodes route through it, and keep retained messages in its KV bucket.
 */
export async function startNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-nats-"));
  const port = await freePort();
  const monitorPort = await freePort();
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, [
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${monitorPort}"`,
    // Room for Sluice's largest MQTT packet (1 MiB by default) plus its envelope.
    "max_payload: 2MB",
    `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }`,
    "",
  ].join("\n"));
  const monitor = `http://127.0.0.1:${monitorPort}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(NATS_SERVER, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child = proc;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}): ${stderr}`);
      // /healthz answers ok once the listener and JetStream are up.
      const ok = await fetch(`${monitor}/healthz`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`nats-server did not become healthy: ${stderr}`);
      await sleep(50);
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`, port, monitor, dir, start, stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
