import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const HAPROXY = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"].find((p) => existsSync(p)) ?? "haproxy";

/** One Sluice node's ports, by the port the shipped config names for it. */
export interface NodePorts {
  mqtt: number;
  mqtts: number;
  ws: number;
  http: number;
}

/** The node ports deploy/haproxy.cfg uses (Sluice's defaults). */
const NODE_PORT_OF: Record<string, keyof NodePorts> = { "1883": "mqtt", "8883": "mqtts", "8083": "ws", "8080": "http" };

/**
 * deploy/haproxy.cfg made runnable on loopback: each `bind :P` listens on 127.0.0.1 at
 * `listen[P]`, `server sluiceN sluiceN:P ... port 8080` points at node N's ports, and servers
 * beyond the nodes given are left out. Everything else stays as shipped, so a broken shipped
 * config breaks the test. Throws when the file no longer has the shape this relies on.
 */
export function localHaproxyConfig(shipped: string, listen: Record<string, number>, nodes: NodePorts[]): string {
  let binds = 0;
  let servers = 0;
  const lines: string[] = [];
  for (const line of shipped.split("\n")) {
    const bind = /^(\s*)bind :(\d+)\s*$/.exec(line);
    if (bind) {
      const port = listen[bind[2]!];
      if (port === undefined) throw new Error(`haproxy.cfg binds :${bind[2]}, which the test has no port for`);
      lines.push(`${bind[1]}bind 127.0.0.1:${port}`);
      binds++;
      continue;
    }
    const server = /^(\s*)server sluice(\d+) sluice\d+:(\d+)(.*)$/.exec(line);
    if (server) {
      const node = nodes[Number(server[2]) - 1];
      if (node === undefined) continue; // more servers in the file than nodes in the test
      const kind = NODE_PORT_OF[server[3]!];
      if (kind === undefined) throw new Error(`haproxy.cfg points a server at port ${server[3]}, which no Sluice listener has by default`);
      const rest = server[4]!.replace(/\bport 8080\b/, `port ${node.http}`);
      lines.push(`${server[1]}server sluice${server[2]} 127.0.0.1:${node[kind]}${rest}`);
      servers++;
      continue;
    }
    lines.push(line);
  }
  if (binds === 0 || servers === 0) throw new Error("haproxy.cfg has no `bind :PORT` or no `server sluiceN host:port` lines");
  return lines.join("\n");
}

/** `haproxy -c -f file`: its exit status and what it printed. */
export function checkHaproxyConfig(file: string): { status: number | null; output: string } {
  const r = spawnSync(HAPROXY, ["-c", "-f", file], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** One server as HAProxy's runtime API reports it (`show stat`). */
export interface ServerStat {
  backend: string;
  server: string;
  /** UP, DOWN, "UP 1/3" (going down), "DOWN 1/2" (going up), MAINT... */
  status: string;
  /** The last health check's result: L7OK, L7STS (bad HTTP status), L7RSP (unexpected body), L4CON... */
  check: string;
}

export interface TestHaproxy {
  file: string;
  /** What HAProxy printed so far (its log goes to stdout). */
  output(): string;
  /** Every server of every backend, read from the runtime API. */
  servers(): Promise<ServerStat[]>;
  stop(): Promise<void>;
}

/** Sends one runtime API command on the unix socket and returns the whole answer. */
function runtimeCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let answer = "";
    s.on("data", (d) => (answer += d.toString()));
    s.once("error", reject);
    s.once("end", () => resolve(answer));
    s.write(`${command}\n`);
  });
}

/**
 * Runs HAProxy in the foreground (`-db`) on `config`, written to a temp dir, with a runtime API
 * socket added to its `global` section (the one line the test adds) to read servers' states.
 */
export function startHaproxy(config: string): TestHaproxy {
  const dir = mkdtempSync(join(tmpdir(), "sluice-haproxy-"));
  const file = join(dir, "haproxy.cfg");
  const socket = join(dir, "admin.sock");
  if (!/^global\s*$/m.test(config)) throw new Error("haproxy.cfg has no global section");
  writeFileSync(file, config.replace(/^global\s*$/m, `global\n    stats socket ${socket} mode 600 level admin`));
  const child: ChildProcess = spawn(HAPROXY, ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-16_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return {
    file,
    output: () => output,
    async servers() {
      const csv = await runtimeCommand(socket, "show stat");
      const [header, ...rows] = csv.replace(/^# /, "").trim().split("\n");
      const col = (name: string) => header!.split(",").indexOf(name);
      const [px, sv, st, cs] = [col("pxname"), col("svname"), col("status"), col("check_status")];
      return rows
        .map((r) => r.split(","))
        .filter((f) => f[sv] !== "FRONTEND" && f[sv] !== "BACKEND")
        .map((f) => ({ backend: f[px]!, server: f[sv]!, status: f[st]!, check: f[cs]! }));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
