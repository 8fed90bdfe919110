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
  /** Its config file (in `dir`). */
  conf: string;
  /** Stops the process (its JetStream data stays). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}


/** Where a test's nats-server listens and keeps its files. */
export interface NatsPlace {
  port: number;
  /** The monitoring port (/healthz). */
  monitorPort: number;
  /** JetStream's store_dir. */
  storeDir: string;
}

export interface NatsOptions {
  /** The config file's text for the place chosen; default: JetStream, no authentication. */
  config?: (place: NatsPlace) => string;
  /** Added to the server's environment (nats-server reads `$NAME` references in its config from it). */
  env?: Record<string, string>;
}

/** The config of `startNats` without options: what the cluster tests route through. */
function plainConfig(place: NatsPlace): string {
  return [
    `listen: "127.0.0.1:${place.port}"`,
    `http: "127.0.0.1:${place.monitorPort}"`,
    // Room for Sluice's largest MQTT packet (1 MiB by default) plus its envelope.
    "max_payload: 2MB",
    `jetstream { store_dir: ${JSON.stringify(place.storeDir)} }`,
    "",
  ].join("\n");
}

/**
 * deploy/nats.conf made runnable here: its `listen`, `http` and `store_dir` lines point at the
 * test's place; everything else stays as shipped, so a broken shipped config breaks the test.
 * Throws when the file no longer has one of each.
 */
export function localNatsConfig(shipped: string, place: NatsPlace): string {
  const replaced = { listen: 0, http: 0, store_dir: 0 };
  const text = shipped.split("\n").map((line) => {
    const m = /^(\s*)(listen|http|store_dir)(\s*[:=]\s*)\S.*$/.exec(line);
    if (!m) return line;
    const key = m[2] as keyof typeof replaced;
    replaced[key]++;
    const value = key === "listen" ? `127.0.0.1:${place.port}` : key === "http" ? `127.0.0.1:${place.monitorPort}` : JSON.stringify(place.storeDir);
    return `${m[1]}${key}${m[3]}${value}`;
  }).join("\n");
  for (const [key, n] of Object.entries(replaced)) if (n !== 1) throw new Error(`nats.conf has ${n} \`${key}\` lines; the test replaces exactly one`);
  return text;
}

/**
 * A real nats-server (Debian's) with JetStream, in a temp dir on free loopback ports, for the
 * cluster tests: the nodes route through it, and keep retained messages in its KV bucket.
 * `options.config` runs another config there (deploy/nats.conf, `localNatsConfig`).
 */
export async function startNats(options: NatsOptions = {}): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-nats-"));
  const port = await freePort();
  const monitorPort = await freePort();
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, (options.config ?? plainConfig)({ port, monitorPort, storeDir: join(dir, "js") }));
  const monitor = `http://127.0.0.1:${monitorPort}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn(NATS_SERVER, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...options.env } });
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

  try {
    await start();
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`, port, monitor, dir, conf, start, stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
