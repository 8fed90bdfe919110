import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Attack on the issue-10 fixes (data.maxPageBytes, HTTP timeouts): a page is now cut at 8 MiB,
// but nothing bounds how long, or how much, the server keeps for a client that asks for a page
// and never reads the answer. Node's requestTimeout ends once the request is received, the
// keep-alive timeout starts once the response is finished, and no write timeout exists: the
// whole page stays buffered in the server for as long as the client keeps the socket open.
// Measured on a running server (default config): 50 such sockets from one address, each one
// ~60-byte GET, RSS +1 026 MiB, still +737 MiB and every socket open 20 s later. The per-address
// cap (200) allows ~4 GiB from one host; the global one (4 000) ~32 GiB.

const MiB = 1024 * 1024;
const SOCKETS = 30;
const TIMEOUT_MS = 1000;

describe("attack10b: a client that never reads its GET /data answer holds the page in the server", () => {
  let sluice: TestSluice;
  let token: string;
  before(async () => {
    sluice = await startSluice({
      http: { ...defaultConfig.http, headersTimeoutMs: TIMEOUT_MS, requestTimeoutMs: TIMEOUT_MS, keepAliveTimeoutMs: TIMEOUT_MS, idleTimeoutMs: TIMEOUT_MS },
    });
    ({ token } = await sluice.device());
    const metadata: Record<string, string> = {};
    for (let i = 0; i < 9; i++) metadata[`m${i}`] = "y".repeat(1000);
    const batch = Array.from({ length: 11 }, () => ({ variable: "big", value: "v".repeat(6000), metadata }));
    const body = JSON.stringify(batch);
    for (let posted = 0; posted < 660; posted += batch.length) {
      const res = await fetch(`${sluice.api}/data`, { method: "POST", headers: { "content-type": "application/json", authorization: token }, body });
      assert.ok(res.ok, `POST /data ${res.status}`);
      await res.arrayBuffer();
    }
  });
  after(async () => sluice.close());

  test(`${SOCKETS} GET /data?qty=10000 never read: the server neither closes them past its timeouts nor bounds what it buffers`, async (t) => {
    // What a reading client gets for the same request: the whole page, as the server would send it.
    const full = await fetch(`${sluice.api}/data?variable=big&qty=10000`, { headers: { authorization: token } });
    assert.equal(full.status, 200);
    const pageBytes = (await full.arrayBuffer()).byteLength;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rss0 = process.memoryUsage().rss;
    const sockets: net.Socket[] = [];
    const received = new Map<net.Socket, number>();
    const answered = new Map<net.Socket, number>();
    const ended = new Set<net.Socket>();
    for (let i = 0; i < SOCKETS; i++) {
      const socket = net.connect({ port: sluice.ports.http, host: "127.0.0.1" });
      received.set(socket, 0);
      socket.on("error", () => ended.add(socket));
      socket.on("end", () => ended.add(socket));
      socket.on("close", () => ended.add(socket));
      socket.on("data", (chunk: Buffer) => {
        received.set(socket, (received.get(socket) ?? 0) + chunk.length);
        if (!answered.has(socket)) {
          // The answer has started: stop reading, so the kernel buffers fill, then the server's.
          answered.set(socket, Date.now());
          socket.pause();
        }
      });
      socket.on("connect", () => socket.write(`GET /data?variable=big&qty=10000 HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\n\r\n`));
      sockets.push(socket);
    }
    // A loaded machine builds 30 pages of 8 MiB slowly: the idle timeout counts from when a
    // socket's answer stalls, so the clock starts once every answer has begun (or the server
    // closed the socket before answering, which holds nothing either), with a generous cap.
    const settled = () => sockets.filter((s) => answered.has(s) || ended.has(s)).length;
    const answersBy = Date.now() + 120_000;
    while (settled() < SOCKETS && Date.now() < answersBy) await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled(), SOCKETS, `only ${settled()} of ${SOCKETS} requests were answered within 120 s`);
    // Every timeout the server has (headers, request, keep-alive, idle) passes several times over.
    await new Promise((r) => setTimeout(r, 5 * TIMEOUT_MS));
    // A paused client cannot see its socket close: let it read now and count what it gets. A
    // socket the server cut gets only what the kernel still held, then ends; one the server
    // kept would get the whole page (and be closed only later, by the keep-alive timeout). So
    // the verdict is each socket's byte count, read once the sockets have ended or their counts
    // stopped moving: not a fixed wait, which a loaded machine overruns.
    for (const s of sockets) s.resume();
    const capAt = Date.now() + 60_000;
    let lastTotal = -1;
    let stillSince = Date.now();
    while (ended.size < SOCKETS && Date.now() < capAt) {
      await new Promise((r) => setTimeout(r, 100));
      const total = [...received.values()].reduce((a, b) => a + b, 0);
      if (total !== lastTotal) {
        lastTotal = total;
        stillSince = Date.now();
      } else if (Date.now() - stillSince >= 3 * TIMEOUT_MS) {
        break; // nothing moved for three idle timeouts: what each got is final
      }
    }
    gc?.();
    const grownMiB = (process.memoryUsage().rss - rss0) / MiB;
    const counts = sockets.map((s) => received.get(s) ?? 0);
    const open = sockets.filter((s) => !ended.has(s)).length;
    for (const s of sockets) s.destroy();
    t.diagnostic(`page ${pageBytes} bytes; a non-reading socket got ${Math.min(...counts)}–${Math.max(...counts)} bytes; RSS +${grownMiB.toFixed(0)} MiB`);
    const whole = counts.filter((n) => n >= pageBytes).length;
    assert.equal(whole, 0, `${whole} of ${SOCKETS} non-reading sockets were still sent the whole page (${pageBytes} bytes) after http.idleTimeoutMs (${TIMEOUT_MS} ms); RSS +${grownMiB.toFixed(0)} MiB`);
    assert.equal(open, 0, `${open} of ${SOCKETS} non-reading sockets kept open past http.idleTimeoutMs (${TIMEOUT_MS} ms)`);
  });
});

describe("http.maxResponseBytesInFlight: large answers being sent are bounded together", () => {
  let sluice: TestSluice;
  let token: string;
  before(async () => {
    sluice = await startSluice({ http: { ...defaultConfig.http, maxResponseBytesInFlight: 1 * MiB } });
    ({ token } = await sluice.device());
    // 100 records of 6 KB, in posts under /data's 200 kB body limit.
    const batch = Array.from({ length: 25 }, () => ({ variable: "big", value: "v".repeat(6000) }));
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${sluice.api}/data`, { method: "POST", headers: { "content-type": "application/json", authorization: token }, body: JSON.stringify(batch) });
      assert.ok(res.ok, `POST /data ${res.status}`);
    }
  });
  after(async () => sluice.close());

  test("sent answers give their bytes back: pages one after another are never refused", async () => {
    // ~600 KB each against a 1 MiB budget: were a sent page's bytes kept, the second would be 503.
    for (let i = 0; i < 4; i++) {
      const page = await fetch(`${sluice.api}/data?variable=big&qty=100`, { headers: { authorization: token } });
      assert.equal(page.status, 200, `page ${i}`);
      assert.equal(((await page.json()) as { result: unknown[] }).result.length, 100);
    }
    const small = await fetch(`${sluice.api}/data?variable=big&qty=1`, { headers: { authorization: token } });
    assert.equal(small.status, 200, "small answers are not counted");
  });

  test("a single answer larger than the whole budget is refused rather than buffered", async () => {
    const limited = await startSluice({ http: { ...defaultConfig.http, maxResponseBytesInFlight: 256 * 1024 } });
    try {
      const dev = await limited.device();
      const batch = Array.from({ length: 25 }, () => ({ variable: "big", value: "v".repeat(6000) }));
      for (let i = 0; i < 4; i++) {
        await fetch(`${limited.api}/data`, { method: "POST", headers: { "content-type": "application/json", authorization: dev.token }, body: JSON.stringify(batch) });
      }
      const refused = await fetch(`${limited.api}/data?variable=big&qty=100`, { headers: { authorization: dev.token } });
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { message: string }).message, /maxResponseBytesInFlight/);
      assert.equal((await fetch(`${limited.api}/data?variable=big&qty=10`, { headers: { authorization: dev.token } })).status, 200);
    } finally {
      await limited.close();
    }
  });
});
