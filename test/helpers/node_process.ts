/**
 * A Sluice node as its own process (`sluice start --store ... --cluster ... --node-id ...`), as an
 * operator runs one: for the tests that kill a node with SIGKILL (nothing of it may run on).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI_MAIN } from "./cli.js";
import { gone, running } from "./orphans.js";
import { until } from "./until.js";

export interface NodeProcess {
  name: string;
  pid: number;
  dataDir: string;
  /** http://127.0.0.1:PORT */
  api: string;
  mqttUrl: string;
  /** What the node logged so far (JSON lines). */
  log(): string;
  /** SIGKILL: no shutdown, no lock released politely; the kernel closes its sockets. */
  kill9(): Promise<void>;
  /** SIGTERM and wait (a clean stop). */
  stop(): Promise<void>;
}

export interface NodeProcessOptions {
  name: string;
  store: string;
  cluster: string;
  /** Written into a config file (flags exist only for some keys). */
  config?: Record<string, unknown>;
  relaySecret?: string;
}

/**
 * Starts a node and resolves once it listens (its `ports.json`). The node runs under a shell
 * that SIGKILLs it when the test process's pipe closes, so a killed test leaves no node behind.
 */
export async function startNodeProcess(options: NodeProcessOptions): Promise<NodeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `sluice-node-${options.name}-`));
  const logFile = join(dataDir, "node.log");
  const configFile = join(dataDir, "config.json");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(configFile, JSON.stringify(options.config ?? {}));
  const args = [
    CLI_MAIN, "start", "--config", configFile, "--data-dir", dataDir, "--store", options.store, "--cluster", options.cluster,
    "--node-id", options.name, "--host", "127.0.0.1", "--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0",
    "--http-port", "0", "--https-port", "0", "--allow-anonymous", "--relay-secret", options.relaySecret ?? "test-cluster-relay-secret",
    "--log-level", "info", "--log-format", "json",
  ];
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const shell: ChildProcess = spawn("sh", ["-c", `${quoted} >'${logFile}' 2>&1 & p=$!; echo $p; cat >/dev/null; kill -9 $p 2>/dev/null`], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    shell.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    shell.once("error", reject);
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const portsFile = join(dataDir, "ports.json");
  let ports: { mqtt: number; http: number };
  try {
    ports = await until(async () => {
      if (!running(pid)) throw new Error(`node ${options.name} exited:\n${log()}`);
      try {
        return JSON.parse(readFileSync(portsFile, "utf8")) as { mqtt: number; http: number };
      } catch {
        return undefined; // not written yet, or half-way
      }
    }, 30_000);
  } catch (err) {
    shell.stdin!.end();
    throw err;
  }
  let ended = false;
  const end = async (signal: NodeJS.Signals) => {
    if (ended) return;
    ended = true;
    if (running(pid)) process.kill(pid, signal);
    await gone(pid, 15_000);
    shell.stdin!.end();
  };
  return {
    name: options.name, pid, dataDir, log,
    api: `http://127.0.0.1:${ports.http}`,
    mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`,
    kill9: () => end("SIGKILL"),
    async stop() {
      await end("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
