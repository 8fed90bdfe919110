import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { describe, test } from "node:test";
import { createLogger, resolveLogFormat, type Logger } from "../../src/observability/logger.js";

// The two log formats as written: what a pretty line holds and leaves out, what neither format
// ever prints (credentials, terminal control sequences).

/** A stdout stand-in collecting what is written; `isTTY` as a terminal would say. */
function sink(isTTY: boolean): { stdout: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  stdout.isTTY = isTTY;
  return { stdout, text: () => text };
}

async function written(logger: Logger, out: { text: () => string }, log: (l: Logger) => void): Promise<string[]> {
  log(logger);
  await delay(20);
  return out.text().split("\n").filter((l) => l !== "");
}

const pretty = (isTTY = false, env: NodeJS.ProcessEnv = {}) => {
  const out = sink(isTTY);
  return { out, logger: createLogger("info", { format: "pretty", stdout: out.stdout, env }) };
};

describe("resolveLogFormat", () => {
  test("auto is pretty on a terminal and JSON otherwise; json and pretty are what they say", () => {
    assert.equal(resolveLogFormat("auto", { isTTY: true }), "pretty");
    assert.equal(resolveLogFormat("auto", { isTTY: false }), "json");
    assert.equal(resolveLogFormat("auto", {}), "json");
    assert.equal(resolveLogFormat("json", { isTTY: true }), "json");
    assert.equal(resolveLogFormat("pretty", { isTTY: false }), "pretty");
  });
});

describe("pretty lines", () => {
  test("time, level, part, message, then the event's fields; no pid or hostname", async () => {
    const { out, logger } = pretty();
    const [line] = await written(logger, out, (l) => l.child({ part: "mqtt" }).warn({ clientId: "dev-1", qos: 1, retain: false }, "client refused"));
    assert.match(line!, /^\d\d:\d\d:\d\d\.\d{3} WARN  mqtt     client refused  clientId=dev-1 qos=1 retain=false$/);
  });

  test("the root logger's lines are sluice's; a field the message shows is not repeated", async () => {
    const { out, logger } = pretty();
    const [line] = await written(logger, out, (l) => l.info({ urls: ["mqtt://h:1", "mqtts://h:2"], path: "/d/x" }, "MQTT mqtt://h:1 mqtts://h:2"));
    assert.match(line!, / INFO  sluice   MQTT mqtt:\/\/h:1 mqtts:\/\/h:2  path=\/d\/x$/);
  });

  test("an error is its message on the same line; spaces and quotes are quoted; long values cut", async () => {
    const { out, logger } = pretty();
    const all = await written(logger, out, (l) => {
      l.error({ err: new TypeError("bad thing") }, "failed");
      l.info({ reason: 'said "no"', big: "x".repeat(500), obj: { a: 1 } }, "values");
    });
    assert.equal(all.length, 2, "one line per event, no stack");
    assert.match(all[0]!, / ERROR sluice   failed  err="TypeError: bad thing"$/);
    assert.match(all[1]!, /reason="said \\"no\\"" big=x{159}… obj=\{"a":1\}$/);
  });

  test("at most 8 fields, then how many were left out", async () => {
    const { out, logger } = pretty();
    const fields = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, i]));
    const [line] = await written(logger, out, (l) => l.info(fields, "many"));
    assert.match(line!, /many {2}f0=0 f1=1 f2=2 f3=3 f4=4 f5=5 f6=6 f7=7 \(\+3\)$/);
  });

  test("control characters from clients are escaped: one event stays one line and cannot drive the terminal", async () => {
    const { out, logger } = pretty(true);
    const all = await written(logger, out, (l) => l.info({ clientId: "a\nb\u001b[2Jc", "k\u001b": 1 }, "hi\r\n\u001b]0;title\u0007 \u202eevil"));
    assert.equal(all.length, 1);
    const text = all[0]!.replace(/\u001b\[[0-9;]*m/g, ""); // the formatter's own colours
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f\u202e]/);
    assert.ok(text.includes("hi\\r\\n\\u001b]0;title\\u0007 \\u202eevil"), text);
    assert.ok(text.includes('clientId="a\\nb\\u001b[2Jc" k\\u001b=1'), text);
  });

  // Review of issue 11: U+2028 and U+2029 passed through raw, so a client id could still start a
  // forged line for whatever splits on them (editors, less, Python's splitlines).
  test("line and paragraph separators and bidirectional marks from clients are escaped too", async () => {
    const { out, logger } = pretty(false);
    const forged = "a\u2028 08:50:16.912 FATAL sluice   forged\u2029b\u200e\u200f\u061c";
    const all = await written(logger, out, (l) => l.info({ clientId: forged }, `connected ${forged}`));
    assert.equal(all.length, 1);
    assert.doesNotMatch(all[0]!, /[\u2028\u2029\u200e\u200f\u061c]/);
    assert.equal(all[0]!.split(/\r\n|[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/).length, 1);
    assert.ok(all[0]!.includes("a\\u2028 08:50:16.912 FATAL sluice   forged\\u2029b\\u200e\\u200f\\u061c"), all[0]);
  });

  test("coloured on a terminal only, and never with a non-empty NO_COLOR", async () => {
    for (const [isTTY, env, colored] of [[true, {}, true], [false, {}, false], [true, { NO_COLOR: "1" }, false], [true, { NO_COLOR: "" }, true]] as const) {
      const { out, logger } = pretty(isTTY, env);
      const [line] = await written(logger, out, (l) => l.info("x"));
      assert.equal(/\u001b\[/.test(line!), colored, `isTTY ${isTTY}, ${JSON.stringify(env)}`);
    }
  });
});

describe("credentials", () => {
  for (const format of ["json", "pretty"] as const) {
    test(`${format}: fields named token, password or authorization are masked`, async () => {
      const out = sink(false);
      const logger = createLogger("info", { format, stdout: out.stdout, env: {} });
      const text = (
        await written(logger, out, (l) =>
          l.child({ part: "relay" }).info({ token: "tok-1", password: "pw-1", authorization: "Bearer b-1", relay: { password: "pw-2" }, req: { headers: { token: "tok-2" } } }, "connect"),
        )
      ).join("\n");
      for (const secret of ["tok-1", "pw-1", "b-1", "pw-2", "tok-2"]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      assert.ok(text.includes("***"), text);
    });
  }

  // Review of issue 11: a webhook's URL was logged as written at debug ("webhook dead-lettered",
  // "webhook delivered after retries"), `?token=` and `user:password@` included.
  for (const format of ["json", "pretty"] as const) {
    test(`${format}: a url field is masked as request URLs are, whoever logs it`, async () => {
      const out = sink(false);
      const logger = createLogger("debug", { format, stdout: out.stdout, env: {} });
      const text = (
        await written(logger, out, (l) =>
          l.child({ part: "webhooks" }).debug({ url: "https://hook-user:hook-pass@hooks.example.com/in?Token=tok-3&access_token=tok-4&keep=1", attempts: 3 }, "webhook dead-lettered"),
        )
      ).join("\n");
      for (const secret of ["hook-user", "hook-pass", "tok-3", "tok-4"]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      assert.ok(text.includes("https://***@hooks.example.com/in?Token=***&access_token=***&keep=1"), text);
    });
  }

  test("json: the fields, ISO time and numeric level as before", async () => {
    const out = sink(true);
    const logger = createLogger("info", { format: "json", stdout: out.stdout, env: {} });
    const [line] = await written(logger, out, (l) => l.child({ part: "http" }).info({ status: 200 }, "ok"));
    const event = JSON.parse(line!) as Record<string, unknown>;
    assert.deepEqual({ ...event, time: typeof event.time }, { level: 30, time: "string", part: "http", status: 200, msg: "ok" });
    assert.ok(!Number.isNaN(Date.parse(String(JSON.parse(line!).time))));
  });
});
