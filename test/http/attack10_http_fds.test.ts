import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { openStream } from "../helpers/sse_client.js";

// Attack on issue 10, HTTP port: idle sockets there were uncapped and stayed open for minutes
// (Node's headers timeout does not close a socket that sends nothing, and a trickled header
// was closed only after ~85 s), so a client without credentials could use up the process's
// file descriptors. Open connections are now capped per address and in all, and the first
// request's headers must arrive within `http.headersTimeoutMs` of the accept.

const PER_ADDRESS = 20;
const OPENED = 60;
const HEADERS_MS = 1000;
const REQUEST_MS = 2000;

function openSockets(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.once("connect", () => resolve(s));
      s.once("close", () => resolve(s));
    })),
  );
}

const open = (sockets: net.Socket[]) => sockets.filter((s) => !s.destroyed && s.readyState === "open").length;

/**
 * Polls until at most `most` of `sockets` are open, up to `capMs` (generous: a loaded machine
 * closes late, and the verdict is whether the server closes them at all, which before the fix
 * it did not for minutes). Returns how many are open at the end.
 */
async function openAtMost(sockets: net.Socket[], most: number, capMs: number): Promise<number> {
  const end = Date.now() + capMs;
  while (open(sockets) > most && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return open(sockets);
}

describe("attack10: idle sockets on the HTTP port", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({
      http: { ...defaultConfig.http, maxConnectionsPerAddress: PER_ADDRESS, headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS },
    });
  });
  after(async () => sluice.close());

  test(`${OPENED} silent sockets from one address: at most maxConnectionsPerAddress stay`, async () => {
    // A server whose headers timeout is far off: only the per-address cap can close sockets here.
    const capped = await startSluice({ http: { ...defaultConfig.http, maxConnectionsPerAddress: PER_ADDRESS, headersTimeoutMs: 120_000, requestTimeoutMs: 120_000 } });
    const sockets = await openSockets(capped.ports.http, OPENED);
    try {
      const held = await openAtMost(sockets, PER_ADDRESS, 20_000);
      assert.ok(held <= PER_ADDRESS, `${held} of ${OPENED} silent sockets held (per-address cap ${PER_ADDRESS})`);
      assert.ok(held > 0, "sockets under the cap are accepted");
    } finally {
      for (const s of sockets) s.destroy();
      await capped.close();
    }
  });

  test(`${PER_ADDRESS} silent sockets: none held past headersTimeoutMs`, async () => {
    const sockets = await openSockets(sluice.ports.http, PER_ADDRESS);
    try {
      // Before the fix they were open after 3 minutes; 20 s is only a cap on the wait.
      const held = await openAtMost(sockets, 0, 20_000);
      assert.equal(held, 0, `${held} silent sockets still held 20 s past the accept (headersTimeoutMs ${HEADERS_MS})`);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // The address has its slots back.
    assert.equal((await fetch(`${sluice.api}/status`)).status, 200);
  });

  test("a header trickled a line at a time is closed at headersTimeoutMs", async () => {
    const [s] = await openSockets(sluice.ports.http, 1);
    const started = Date.now();
    s!.write("GET /status HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => s!.writable && s!.write("x-slow: 1\r\n"), 200);
    try {
      const closedAt = await new Promise<number>((resolve) => {
        // Before the fix a trickled header was closed after ~85 s: 20 s is only a cap on the wait.
        const cap = setTimeout(() => resolve(Number.POSITIVE_INFINITY), HEADERS_MS + 20_000);
        s!.once("close", () => {
          clearTimeout(cap);
          resolve(Date.now() - started);
        });
      });
      assert.ok(closedAt >= HEADERS_MS - 100, `closed too early (${closedAt} ms)`);
      assert.ok(closedAt < HEADERS_MS + 20_000, `trickled header held ${closedAt} ms (headersTimeoutMs ${HEADERS_MS})`);
    } finally {
      clearInterval(trickle);
      s!.destroy();
    }
  });

  test("a normal request and an SSE stream still work; the stream outlives requestTimeoutMs", async () => {
    const status = await fetch(`${sluice.api}/status`);
    assert.equal(status.status, 200);
    const { deviceId, token } = await sluice.device();
    const stream = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { token: sluice.adminToken });
    assert.equal(stream.status, 200);
    try {
      await assert.rejects(stream.ended(REQUEST_MS + 1000), /still open/);
      const posted = await fetch(`${sluice.api}/data`, { method: "POST", headers: { "content-type": "application/json", token }, body: JSON.stringify([{ variable: "t", value: 1 }]) });
      assert.equal(posted.status, 200);
      assert.ok(await stream.next(2000), "an event arrives on the stream after requestTimeoutMs");
    } finally {
      stream.close();
    }
  });
});
