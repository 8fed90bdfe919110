import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// `sluice start`'s logs as a user sees them: pretty lines on a terminal, JSON lines into a pipe,
// either on demand (--log-format, SLUICE_LOG_FORMAT), and the first lines after the listeners
// are up saying where everything is. The CLI runs as a child process, every port 0.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const PORT_FLAGS = ["--host", "127.0.0.1", "--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0"];
/** `HH:MM:SS.mmm LEVEL part message`, uncoloured. */
const PRETTY_LINE = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S+\s+\S/;
const ANSI = /\u001b\[/;

const children: ChildProcess[] = [];
const pids: number[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The environment of the test runner without a log format or level of its own. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ["SLUICE_LOG_FORMAT", "SLUICE_LOG_LEVEL", "NO_COLOR", "FORCE_COLOR"]) if (!(key in extra)) delete e[key];
  return e;
}

interface Run {
  child: ChildProcess;
  dataDir: string;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], environment: NodeJS.ProcessEnv, dataDir: string): Run {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: environment });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, dataDir, out: () => out, err: () => err, exited };
}

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-log-format-"));
  dirs.push(dir);
  return dir;
}

/** `sluice start` with its stdout a pipe. */
function start(flags: string[], environment = env()): Run {
  const dataDir = newDataDir();
  return run(process.execPath, [MAIN, "start", "--data-dir", dataDir, ...PORT_FLAGS, ...flags], environment, dataDir);
}

/** Waits for "sluice is up", the last line of the startup block (or the process's end). */
async function up(r: Run, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void r.exited.then(() => (exited = true));
  while (!/sluice is up/.test(r.out())) {
    if (exited) throw new Error(`sluice start exited early:\n${r.err()}\n${r.out()}`);
    if (Date.now() > deadline) throw new Error(`not up within ${timeoutMs} ms:\n${r.err()}\n${r.out()}`);
    await delay(25);
  }
  // The rest of the line, if the pipe cut it.
  await delay(50);
}

/** SIGTERM, then the exit status. */
async function stop(r: Run): Promise<number | null> {
  r.child.kill("SIGTERM");
  return r.exited;
}

/** Every URL the startup block must show, with the ports the server wrote to ports.json. */
function expectedUrls(dataDir: string): string[] {
  const ports = JSON.parse(readFileSync(join(dataDir, "ports.json"), "utf8")) as Record<"mqtt" | "mqtts" | "ws" | "wss" | "http" | "https", number>;
  return [
    `mqtt://127.0.0.1:${ports.mqtt}`,
    `mqtts://127.0.0.1:${ports.mqtts}`,
    `ws://127.0.0.1:${ports.ws}/mqtt`,
    `wss://127.0.0.1:${ports.wss}/mqtt`,
    `http://127.0.0.1:${ports.http}/`,
    `https://127.0.0.1:${ports.https}/`,
    `http://127.0.0.1:${ports.http}`,
    `https://127.0.0.1:${ports.https}`,
    `http://127.0.0.1:${ports.http}/api/docs`,
  ];
}

const lines = (text: string) => text.split(/\r?\n/).filter((l) => l !== "");

function parsesAsJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === "object";
  } catch {
    return false;
  }
}

/** The startup block: every URL, the admin token's path, never the token itself. */
function assertStartupBlock(out: string, dataDir: string): void {
  for (const url of expectedUrls(dataDir)) assert.ok(out.includes(url), `${url} in:\n${out}`);
  const tokenPath = join(dataDir, "admin-token");
  assert.ok(out.includes(`its token is in ${tokenPath}`), `the admin token's path in:\n${out}`);
  assert.ok(!out.includes(readFileSync(tokenPath, "utf8").trim()), "the admin token itself is never logged");
}

function assertJsonLog(out: string, dataDir: string): void {
  const all = lines(out);
  assert.ok(all.length >= 5, out);
  for (const line of all) assert.ok(parsesAsJson(line), `a JSON line: ${line}`);
  const events = all.map((l) => JSON.parse(l) as Record<string, unknown>);
  const urls = events.flatMap((e) => (Array.isArray(e.urls) ? e.urls : []));
  assert.deepEqual(urls, expectedUrls(dataDir), "the URL lines carry them in `urls` too");
  assert.ok(events.every((e) => typeof e.time === "string" && typeof e.level === "number" && !("pid" in e) && !("hostname" in e)));
  assertStartupBlock(out, dataDir);
}

function assertPrettyLog(out: string, dataDir: string, colored: boolean): void {
  const all = lines(out);
  assert.ok(all.length >= 5, out);
  for (const line of all) {
    assert.ok(!parsesAsJson(line), `not JSON: ${line}`);
    assert.equal(ANSI.test(line), colored, `${colored ? "coloured" : "no colour"}: ${JSON.stringify(line)}`);
    // Colours off, every line is time, level, part, message.
    assert.match(line.replace(/\u001b\[[0-9;]*m/g, ""), PRETTY_LINE);
  }
  const plain = out.replace(/\u001b\[[0-9;]*m/g, "");
  assert.match(plain, /^\d\d:\d\d:\d\d\.\d{3} INFO  sluice +sluice is up {2}dataDir=/m);
  assert.match(plain, /INFO  sluice +MQTT +mqtt:\/\/127\.0\.0\.1:\d+ +mqtts:\/\/127\.0\.0\.1:\d+$/m, "a URL shown in the message is not repeated as a field");
  assert.doesNotMatch(plain, /pid=|hostname=/);
  assertStartupBlock(plain, dataDir);
}

describe("sluice start --log-format", () => {
  test("json: every stdout line is a JSON object, the URL lines included", async () => {
    const r = start(["--log-format", "json"]);
    await up(r);
    assert.equal(await stop(r), 0, r.err());
    assertJsonLog(r.out(), r.dataDir);
    assert.match(lines(r.out()).at(-1)!, /"msg":"shutting down"/);
  });

  test("pretty: one readable line per event, no colour into a pipe", async () => {
    const r = start(["--log-format", "pretty"]);
    await up(r);
    assert.equal(await stop(r), 0, r.err());
    assertPrettyLog(r.out(), r.dataDir, false);
    assert.match(lines(r.out()).at(-1)!, / INFO  sluice +shutting down {2}signal=SIGTERM$/);
  });

  test("no flag, stdout a pipe: JSON lines", async () => {
    const r = start([]);
    await up(r);
    assert.equal(await stop(r), 0, r.err());
    assertJsonLog(r.out(), r.dataDir);
  });

  test("SLUICE_LOG_FORMAT chooses it too, and the flag wins over it", async () => {
    const byEnv = start([], env({ SLUICE_LOG_FORMAT: "pretty" }));
    const byFlag = start(["--log-format", "json"], env({ SLUICE_LOG_FORMAT: "pretty" }));
    await Promise.all([up(byEnv), up(byFlag)]);
    assert.equal(await stop(byEnv), 0, byEnv.err());
    assert.equal(await stop(byFlag), 0, byFlag.err());
    assertPrettyLog(byEnv.out(), byEnv.dataDir, false);
    assertJsonLog(byFlag.out(), byFlag.dataDir);
  });

  test("a second start on the same data dir says where the admin token is", async () => {
    const first = start(["--log-format", "json"]);
    await up(first);
    assert.equal(await stop(first), 0, first.err());
    const second = run(process.execPath, [MAIN, "start", "--data-dir", first.dataDir, ...PORT_FLAGS, "--log-format", "json"], env(), first.dataDir);
    await up(second);
    assert.equal(await stop(second), 0, second.err());
    const tokenPath = join(first.dataDir, "admin-token");
    const line = lines(second.out()).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.path === tokenPath);
    assert.deepEqual(line && { msg: line.msg, level: line.level }, { msg: `admin token in ${tokenPath}`, level: 30 });
  });

  for (const [how, flags, environment] of [
    ["the flag", ["--log-format", "xml"], env()],
    ["SLUICE_LOG_FORMAT", [], env({ SLUICE_LOG_FORMAT: "xml" })],
  ] as const) {
    test(`an unknown format (${how}): one line naming the key and the choices, exit status 1`, async () => {
      const r = start([...flags], environment);
      assert.equal(await r.exited, 1);
      assert.equal(r.err(), 'error (CONFIG_INVALID): logFormat must be one of auto, json, pretty, got "xml"\n');
      assert.equal(r.out(), "");
    });
  }
});

// util-linux's `script` gives the command a terminal; skipped where it is missing.
const script = spawnSync("script", ["--version"], { encoding: "utf8" });
const haveScript = script.status === 0 && /util-linux/.test(script.stdout);

describe("sluice start on a terminal", { skip: haveScript ? false : "util-linux `script` is not installed" }, () => {
  /** `sluice start` with no format flag, its stdout a terminal; `pidFile` gets its pid. */
  function startOnTty(environment: NodeJS.ProcessEnv): Run & { pid: () => Promise<number> } {
    const dataDir = newDataDir();
    const pidFile = join(dataDir, "..", `${dataDir.split("/").at(-1)}.pid`);
    dirs.push(pidFile);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = `echo $$ > ${quote(pidFile)}; exec ${[process.execPath, MAIN, "start", "--data-dir", dataDir, ...PORT_FLAGS].map(quote).join(" ")}`;
    const r = run("script", ["-qec", command, "/dev/null"], environment, dataDir);
    return {
      ...r,
      async pid() {
        while (!existsSync(pidFile) || readFileSync(pidFile, "utf8").trim() === "") await delay(25);
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        pids.push(pid);
        return pid;
      },
    };
  }

  for (const [what, environment, colored] of [
    ["pretty and coloured by default", env(), true],
    ["pretty without colour when NO_COLOR is set", env({ NO_COLOR: "1" }), false],
  ] as const) {
    test(what, async () => {
      const r = startOnTty(environment);
      const pid = await r.pid();
      await up(r);
      // The signal goes to Sluice itself: `script` would end it with SIGKILL.
      process.kill(pid, "SIGTERM");
      assert.equal(await r.exited, 0, r.err() + r.out());
      pids.splice(pids.indexOf(pid), 1); // ended: its pid is no longer ours to signal
      assertPrettyLog(r.out(), r.dataDir, colored);
    });
  }
});
