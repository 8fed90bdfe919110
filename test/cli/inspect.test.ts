import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { colorWanted, formatEventLine, printable } from "../../src/cli/inspect_format.js";
import { SseParser } from "../../src/cli/sse_parser.js";
import { inspectorRoutes, inspectorStreamRoutes } from "../../src/http/routes/inspector.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Inspector } from "../../src/inspector/inspector.js";
import type { InspectorEventJson } from "../../src/inspector/serialize.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";

// `sluice inspect`, run as a user would (a child process) against a real server in this
// process, where the test records the events it expects the command to print.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const WRAPPER = fileURLToPath(new URL("../helpers/inspect_cli.js", import.meta.url));
// Once main.ts dispatches `inspect`, the real entry point is tested; until then, a wrapper that
// calls runInspect the way main.ts calls the other commands.
const COMMAND = readFileSync(MAIN, "utf8").includes('"inspect"') ? [MAIN, "inspect"] : [WRAPPER];

let store: SqliteStore;
let identity: IdentityService;
let inspector: Inspector;
let app: FastifyInstance;
let url: string;
let token: string;
let accountId: string;

before(async () => {
  store = new SqliteStore(":memory:");
  identity = new IdentityService(store.identity);
  const admin = (await identity.bootstrapAdmin())!;
  token = admin.token;
  accountId = admin.accountId;
  inspector = new Inspector();
  app = await createHttpServer({
    identity,
    metrics: new Metrics({ processMetrics: false }),
    logger: pino({ level: "silent" }),
    routes: {
      account: [inspectorRoutes({ identity, inspector })],
      // A short retry so the reconnection test does not wait the default 2 s.
      public: [inspectorStreamRoutes({ identity, inspector, sse: { retryMs: 50 } })],
    },
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  await app.close();
  identity.stop();
  await store.close();
});

async function newDevice(): Promise<string> {
  return (await identity.createDevice(accountId, { name: "cli" })).device.id;
}

/** A running `sluice inspect`, its output split into lines as it arrives. */
class Inspect {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [...COMMAND, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  async waitForLines(count: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} lines, got ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`);
      await delay(20);
    }
    return this.lines.slice(0, count);
  }

  interrupt(): void {
    this.child.kill("SIGINT");
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe("sluice inspect", () => {
  test("--json prints the backlog, then live events, one JSON line each; Ctrl-C exits 0 at once", async () => {
    const id = await newDevice();
    inspector.record(id, "connect", "client c1 connected", { clientId: "c1" });
    const run = new Inspect([id, "--url", url, "--token", token, "--json"]);
    try {
      await run.waitForLines(1);
      await until(() => inspector.watching(id), "the stream");
      inspector.record(id, "message_in", "PUBLISH data/up", { topic: "data/up", payload: Buffer.from('{"t":1}') });
      const lines = (await run.waitForLines(2)).map((line) => JSON.parse(line) as InspectorEventJson);
      assert.deepEqual(lines.map((e) => [e.kind, e.summary]), [["connect", "client c1 connected"], ["message_in", "PUBLISH data/up"]]);
      assert.deepEqual(lines[1]!.detail, { topic: "data/up", payload: { bytes: 7, text: '{"t":1}', truncated: false } });
      assert.equal(lines[1]!.device_id, id);
      const stopped = Date.now();
      run.interrupt();
      assert.equal(await run.exited, 0);
      assert.ok(Date.now() - stopped < 1500, `exited ${Date.now() - stopped} ms after Ctrl-C`);
      await until(() => !inspector.watching(id), "the stream to close");
    } finally {
      run.kill();
    }
  });

  test("prints `time  kind  summary` lines, without colours when stdout is not a terminal, escaping control characters", async () => {
    const id = await newDevice();
    const run = new Inspect([id, "--url", url, "--token", token]);
    try {
      await until(() => inspector.watching(id), "the stream");
      inspector.record(id, "parser_log", "console.log: \u001b[2Jhi\nthere");
      const [line] = await run.waitForLines(1);
      const [event] = inspector.list(id);
      assert.equal(line, `${event!.time.toISOString()}  parser_log     console.log: \\u001b[2Jhi\\nthere`);
      assert.doesNotMatch(line!, /\u001b/);
    } finally {
      run.kill();
    }
  });

  test("--kinds shows only those kinds, live and in the backlog", async () => {
    const id = await newDevice();
    inspector.record(id, "message_in", "not this");
    inspector.record(id, "error", "first error");
    const run = new Inspect([id, "--url", url, "--token", token, "--json", "--kinds", "error,parser_log"]);
    try {
      await run.waitForLines(1);
      await until(() => inspector.watching(id), "the stream");
      inspector.record(id, "message_in", "nor this");
      inspector.record(id, "parser_log", "a log");
      const lines = (await run.waitForLines(2)).map((line) => (JSON.parse(line) as InspectorEventJson).summary);
      assert.deepEqual(lines, ["first error", "a log"]);
    } finally {
      run.kill();
    }
  });

  test("after a dropped connection it reconnects and resumes where it was, without repeats", async () => {
    const id = await newDevice();
    inspector.record(id, "connect", "e1");
    const run = new Inspect([id, "--url", url, "--token", token, "--json"]);
    try {
      await run.waitForLines(1);
      await until(() => inspector.watching(id), "the stream");
      app.server.closeAllConnections(); // the network drops, the server lives on
      await until(() => !inspector.watching(id), "the drop");
      inspector.record(id, "message_in", "e2 (while disconnected)");
      await until(() => inspector.watching(id), "the reconnection");
      inspector.record(id, "message_in", "e3");
      const lines = (await run.waitForLines(3)).map((line) => (JSON.parse(line) as InspectorEventJson).summary);
      assert.deepEqual(lines, ["e1", "e2 (while disconnected)", "e3"]);
      assert.match(run.stderr, /reconnecting/);
    } finally {
      run.kill();
    }
  });

  test("an unknown device or another account's device exits 1 with the server's message", async () => {
    const unknown = new Inspect(["no-such-device", "--url", url, "--token", token]);
    assert.equal(await unknown.exited, 1);
    assert.match(unknown.stderr, /error \(NOT_FOUND\): Device not found/);
    const other = await identity.createAccount("other");
    const foreign = new Inspect([await newDevice(), "--url", url, "--token", other.token]);
    assert.equal(await foreign.exited, 1);
    assert.match(foreign.stderr, /error \(NOT_FOUND\): Device not found/);
  });

  test("a wrong token exits 1 as UNAUTHORIZED", async () => {
    const id = await newDevice();
    const run = new Inspect([id, "--url", url, "--token", "wrong"]);
    assert.equal(await run.exited, 1);
    assert.match(run.stderr, /error \(UNAUTHORIZED\)/);
  });

  test("a server that is not there exits 1 as UNREACHABLE", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const run = new Inspect(["dev", "--url", `http://127.0.0.1:${port}`, "--token", token]);
    assert.equal(await run.exited, 1);
    assert.match(run.stderr, /error \(UNREACHABLE\)/);
  });

  test("usage errors: unknown kinds, a missing device id, unknown flags", async () => {
    for (const [args, pattern] of [
      [["dev", "--kinds", "bogus", "--url", url, "--token", token], /unknown kind bogus/],
      [["--url", url, "--token", token], /usage: sluice inspect DEVICE_ID/],
      [["dev", "--colour", "--url", url, "--token", token], /unknown flag --colour/],
    ] as const) {
      const run = new Inspect([...args]);
      assert.equal(await run.exited, 1);
      assert.match(run.stderr, pattern);
    }
  });
});

describe("terminal output", () => {
  const event: InspectorEventJson = { id: 1, device_id: "d", time: "2024-05-01T12:00:00.000Z", kind: "error", summary: "boom", detail: null };

  test("kinds are coloured and padded to one width", () => {
    assert.equal(formatEventLine(event, false), "2024-05-01T12:00:00.000Z  error          boom");
    assert.equal(formatEventLine(event, true), "\u001b[2m2024-05-01T12:00:00.000Z\u001b[0m  \u001b[1;31merror        \u001b[0m  boom");
  });

  test("colours only on a terminal, and never with --no-color or NO_COLOR", () => {
    assert.equal(colorWanted(false, {}, true), true);
    assert.equal(colorWanted(false, {}, false), false);
    assert.equal(colorWanted(true, {}, true), false);
    assert.equal(colorWanted(false, { NO_COLOR: "1" }, true), false);
    assert.equal(colorWanted(false, { NO_COLOR: "" }, true), true); // no-color.org: only a non-empty value counts
  });

  test("control characters and bidirectional overrides are escaped", () => {
    assert.equal(printable("a\tb\u0007c\u202ed\u0085"), "a\\tb\\u0007c\\u202ed\\u0085");
  });
});

describe("SSE parser", () => {
  test("dispatches on a blank line; joins data lines; keeps the last id; skips comments", () => {
    const parser = new SseParser();
    const messages = parser.push("retry: 3000\n\n: heartbeat\n\nid: 7\ndata: a\ndata: b\n\nevent: custom\ndata: c\n\n");
    assert.deepEqual(messages, [
      { id: "7", event: "message", data: "a\nb" },
      { id: "7", event: "custom", data: "c" },
    ]);
    assert.equal(parser.retryMs, 3000);
  });

  test("handles CRLF and CR line ends, split anywhere across chunks, and a leading BOM", () => {
    const parser = new SseParser();
    const text = "\ufeffid: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\r";
    const messages = [...text].flatMap((c) => parser.push(c));
    assert.deepEqual(messages, [
      { id: "1", event: "message", data: "x" },
      { id: "2", event: "message", data: "y" },
    ]);
  });

  test("reset drops a half-received event but keeps the last id", () => {
    const parser = new SseParser();
    parser.push("id: 5\ndata: done\n\ndata: half");
    parser.reset();
    assert.deepEqual(parser.push("data: new\n\n"), [{ id: "5", event: "message", data: "new" }]);
  });
});
