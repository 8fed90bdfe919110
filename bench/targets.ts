// Starts and stops the brokers under test. Each scenario gets a freshly started broker so that
// memory grown by one scenario (heap, queues) cannot flatter or penalise the next.
import { execFileSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { registerTempDir, releaseTempDir, startChild, stopChild } from "./children.js";
import type { TargetKind, TargetSlot } from "./config.js";
import { repoRoot } from "./paths.js";

export interface RunningTarget {
  slot: string;
  kind: TargetKind;
  host: string;
  port: number;
  pid: number;
  /** Sluice only: its HTTP API and the admin account's token, for scenarios that configure it; its data dir. */
  api?: { port: number; adminToken: string; dataDir?: string };
  /** Why the process ended, or null while it runs. */
  exitReason(): string | null;
  /** Last few KiB of the broker's stdout/stderr, for error reports. */
  outputTail(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const TAIL_BYTES = 4096;

/** BENCH_SLUICE_ENTRY lets the same bench drive another build, e.g. a checkout of main. */
const sluiceMain = process.env["BENCH_SLUICE_ENTRY"] ?? join(repoRoot, "dist", "src", "cli", "main.js");

export function findMosquitto(): string | null {
  const dirs = (process.env["PATH"] ?? "").split(delimiter).concat(["/usr/sbin", "/usr/local/sbin"]);
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "mosquitto");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** e.g. "2.0.11", or null if the binary does not say. */
export function mosquittoVersion(binary: string): string | null {
  try {
    // `-h` prints the version banner and exits non-zero, so read stdout from the error too.
    execFileSync(binary, ["-h"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? ""; // execFileSync attaches captured stdout
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? null;
  }
  return null;
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("could not reserve a port");
  return address.port;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function track(child: ChildProcess): { exitReason: () => string | null; tail: () => string } {
  let tail = "";
  let reason: string | null = null;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (err) => {
    reason = `failed to start: ${err.message}`;
  });
  child.once("exit", (code, signal) => {
    reason ??= signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
  });
  return { exitReason: () => reason, tail: () => tail };
}

/** Polls `probe` until it yields a value, the process dies, or the deadline passes. */
async function waitReady<T>(
  what: string,
  exitReason: () => string | null,
  tail: () => string,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const reason = exitReason();
    if (reason !== null) throw new Error(`${what} ${reason}${tail() ? `:\n${tail().trim()}` : ""}`);
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

export interface StartOptions {
  host: string;
  /** taskset CPU list for the broker (BENCH_PIN). */
  cpus?: string;
  /** Add `set_tcp_nodelay true` to Mosquitto's config (BENCH_MOSQUITTO_NODELAY). */
  mosquittoNoDelay: boolean;
  /** More `sluice start` flags (the cluster scenario: `--cluster`, `--node-id`). */
  sluiceArgs?: string[];
}

async function startMosquitto(slot: TargetSlot, options: StartOptions): Promise<RunningTarget> {
  const { host, cpus } = options;
  const binary = findMosquitto();
  if (binary === null) throw new Error("mosquitto not found on PATH or in /usr/sbin");
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-mosquitto-"));
  registerTempDir(dir);
  const port = await freePort(host);
  const configPath = join(dir, "mosquitto.conf");
  // Stock settings apart from what a benchmark needs: anonymous access, no connection cap, no
  // disk persistence, and only warnings logged (per-connection notices would flood the pipe).
  // Nagle stays on unless asked otherwise, because that is what a stock install does.
  writeFileSync(
    configPath,
    [
      `listener ${port} ${host}`,
      "allow_anonymous true",
      "max_connections -1",
      ...(options.mosquittoNoDelay ? ["set_tcp_nodelay true"] : []),
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "",
    ].join("\n"),
  );
  const child = startChild(binary, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"] }, cpus);
  const { exitReason, tail } = track(child);
  try {
    await waitReady("mosquitto", exitReason, tail, async () => ((await canConnect(host, port)) ? true : null));
  } catch (err) {
    await stopChild(child);
    releaseTempDir(dir);
    throw err;
  }
  return {
    slot: slot.slot,
    kind: "mosquitto",
    host,
    port,
    pid: child.pid!,
    exitReason,
    outputTail: tail,
    stop: async () => {
      await stopChild(child);
      releaseTempDir(dir);
    },
  };
}

/**
 * The plan the limits scenario measures: every limit finite, so each PUBLISH takes the whole
 * check path (buckets per connection and per account), and each too high to ever refuse.
 */
export const METERED_PLAN = "bench-metered";

function writeBenchConfig(dir: string): string {
  const huge = 1_000_000_000;
  const path = join(dir, "bench-config.json");
  // BENCH_SLUICE_CONFIG: JSON merged over this file (per section), to measure a setting's cost.
  const extra = JSON.parse(process.env["BENCH_SLUICE_CONFIG"] ?? "{}") as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({
    ...extra,
    plans: {
      [METERED_PLAN]: {
        devices: huge, connections: huge, connectionsPerDevice: huge, publishesPerMinute: huge, publishesPerMinutePerConnection: huge,
        subscriptionsPerConnection: huge, subscriptions: huge, recordsPerMinute: huge, recordsPerMonth: huge, maxPayloadBytes: huge,
        flapping: { connects: huge, windowSeconds: 60, blockSeconds: 1 },
      },
    },
  }));
  return path;
}

async function startSluice(slot: TargetSlot, options: StartOptions): Promise<RunningTarget> {
  const { host, cpus } = options;
  if (!existsSync(sluiceMain)) throw new Error(`${sluiceMain} not found (build first)`);
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-data-"));
  registerTempDir(dir);
  // BENCH_SLUICE_NODE_ARGS: flags for the broker's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
  const args = [
    ...(process.env["BENCH_SLUICE_NODE_ARGS"]?.split(" ").filter((a) => a !== "") ?? []),
    sluiceMain,
    "start",
    "--data-dir",
    dir,
    "--mqtt-port",
    "0",
    "--mqtts-port",
    "0",
    "--ws-port",
    "0",
    "--wss-port",
    "0",
    "--http-port",
    "0",
    "--https-port",
    "0",
    "--allow-anonymous",
    "--log-level",
    "warn",
    "--config",
    writeBenchConfig(dir),
    ...(options.sluiceArgs ?? []),
  ];
  const child = startChild(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] }, cpus);
  const { exitReason, tail } = track(child);
  const portsFile = join(dir, "ports.json");
  let port: number;
  let api: RunningTarget["api"];
  try {
    ({ port, api } = await waitReady("sluice", exitReason, tail, async () => {
      if (!existsSync(portsFile)) return null;
      try {
        const ports = JSON.parse(readFileSync(portsFile, "utf8")) as { mqtt?: unknown; http?: unknown };
        // The file may be caught half-written; an unparsable or incomplete one means "not yet".
        if (typeof ports.mqtt !== "number") return null;
        if (!(await canConnect(host, ports.mqtt))) return null;
        return { port: ports.mqtt, api: sluiceApi(dir, ports.http) };
      } catch {
        return null;
      }
    }));
  } catch (err) {
    await stopChild(child);
    releaseTempDir(dir);
    throw err;
  }
  return {
    slot: slot.slot,
    kind: "sluice",
    host,
    port,
    pid: child.pid!,
    api,
    exitReason,
    outputTail: tail,
    stop: async () => {
      await stopChild(child);
      releaseTempDir(dir);
    },
  };
}

/**
 * The HTTP port from ports.json and the admin token Sluice wrote at its first start, or
 * undefined when this build has neither (BENCH_SLUICE_ENTRY can point at an older one).
 */
function sluiceApi(dataDir: string, httpPort: unknown): RunningTarget["api"] {
  const tokenFile = join(dataDir, "admin-token");
  if (typeof httpPort !== "number" || !existsSync(tokenFile)) return undefined;
  const adminToken = readFileSync(tokenFile, "utf8").trim();
  return adminToken === "" ? undefined : { port: httpPort, adminToken, dataDir };
}

export function startTarget(slot: TargetSlot, options: StartOptions): Promise<RunningTarget> {
  return slot.kind === "mosquitto" ? startMosquitto(slot, options) : startSluice(slot, options);
}
