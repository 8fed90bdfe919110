import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI_MAIN } from "./cli.js";
import { metricValue } from "./raw_mqtt.js";
import { until } from "./until.js";

/** A Sluice node run as `sluice start` in a child process of its own, so a test can kill -9 it. */
export interface NodeProcess {
  name: string;
  dataDir: string;
  pid: number;
  /** mqtt://127.0.0.1:PORT */
  mqttUrl: string;
  /** http://127.0.0.1:PORT */
  api: string;
  httpPort: number;
  /** The admin token file's content, when this node was the first on its store (it wrote the file). */
  adminToken(): string;
  /** The last 8 000 characters the process wrote (its log), for a failing test's message. */
  log(): string;
  /** SIGKILL, and waits for the process to be gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a clean shutdown), then SIGKILL past 10 s; removes its data dir unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Starts `node dist/src/cli/main.js start --store <store> --cluster <nats> --node-id <name>` on
 * free loopback ports, anonymous clients allowed, and waits until it takes MQTT clients (its
 * `sluice_cluster_available` is 1). `dataDir` restarts a node on an earlier data dir.
 */
export async function spawnNode(options: { name: string; nats: string; store: string; dataDir?: string; args?: string[] }): Promise<NodeProcess> {
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), `sluice-node-${options.name}-`));
  rmSync(join(dir, "ports.json"), { force: true });
  const ports = ["--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0"];
  const child: ChildProcess = spawn(process.execPath, [
    CLI_MAIN, "start", "--data-dir", dir, ...ports, "--host", "127.0.0.1", "--allow-anonymous", "--log-level", "warn",
    "--cluster", options.nats, "--store", options.store, "--node-id", options.name,
    // A node on --store needs the cluster's one relay secret (docs/cluster.md, "Relay credentials in a cluster").
    "--relay-secret", "test-cluster-relay-secret", ...(options.args ?? []),
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  child.stdout!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const read = (): { mqtt: number; http: number } | undefined => {
    if (child.exitCode !== null) throw new Error(`node ${options.name} exited (${child.exitCode}): ${stderr}`);
    try {
      return JSON.parse(readFileSync(join(dir, "ports.json"), "utf8")) as { mqtt: number; http: number };
    } catch {
      return undefined;
    }
  };
  let ports_: { mqtt: number; http: number };
  try {
    ports_ = await until(async () => read(), 30_000);
    await until(async () => ((await metricValue(ports_.http, "sluice_cluster_available")) === 1 ? true : undefined), 30_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`node ${options.name} did not start: ${String(err)}; stderr: ${stderr}`);
  }
  return {
    name: options.name,
    dataDir: dir,
    pid: child.pid!,
    mqttUrl: `mqtt://127.0.0.1:${ports_.mqtt}`,
    api: `http://127.0.0.1:${ports_.http}`,
    httpPort: ports_.http,
    adminToken: () => readFileSync(join(dir, "admin-token"), "utf8").trim(),
    log: () => stderr,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop(o = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!o.keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}
