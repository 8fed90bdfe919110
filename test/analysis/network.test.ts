import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type AddressInfo, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";

// `outbound.allowPrivateTargets` for analyses: checked on the address actually connected to,
// after DNS, inside the analysis process (network_guard.ts); Sluice's own API stays reachable.

let target: Server; // a loopback service an analysis must not reach: another port on Sluice's host
let udp: UdpSocket;
let udpReceived = 0;
before(async () => {
  // Probes hang up at once: their resets are expected.
  target = createServer((socket) => socket.on("error", () => undefined).end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"));
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  udp = createSocket("udp4").on("message", () => udpReceived++);
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
});
after(() => {
  target.close();
  udp.close();
});

/** Each attempt prints "<name> <outcome>"; the run ends with "done". */
function probeScript(tcpPort: number, udpPort: number): string {
  return `
    const net = require("node:net");
    const report = (name, promise) => promise.then(() => console.log(name, "CONNECTED"), (e) => console.log(name, e.code || e.message));
    const tcp = (options) => new Promise((resolve, reject) => net.connect(options).on("connect", function () { this.destroy(); resolve(); }).on("error", reject));
    (async () => {
      await report("tcp 127.0.0.1", tcp({ host: "127.0.0.1", port: ${tcpPort} }));
      await report("tcp localhost", tcp({ host: "localhost", port: ${tcpPort} }));
      await report("tcp ::ffff:127.0.0.1", tcp({ host: "::ffff:127.0.0.1", port: ${tcpPort} }));
      await report("fetch", fetch("http://127.0.0.1:${tcpPort}/").then((r) => r.text()));
      await report("unix socket", tcp({ path: "/run/sluice-test-nonexistent.sock" }));
      await report("udp", new Promise((resolve, reject) => require("node:dgram").createSocket("udp4").send("x", ${udpPort}, "127.0.0.1", (e) => (e ? reject(e) : resolve()))));
      // Sluice's API, as the SDK reaches it: the one loopback host:port left open.
      await report("sluice api", fetch(process.env.TAGOIO_API + "/info", { headers: { token: process.env.T_ANALYSIS_TOKEN } }).then((r) => { if (r.status !== 200) throw new Error("status " + r.status); }));
      await report("sdk", new (require("@tago-io/sdk").Resources)({ token: process.env.T_ANALYSIS_TOKEN }).analysis.list());
      console.log("done");
    })();`;
}

async function run(sluice: TestSluice): Promise<Map<string, string>> {
  const { id } = await createAnalysis(resourcesOf(sluice), probeScript((target.address() as AddressInfo).port, (udp.address() as AddressInfo).port));
  await resourcesOf(sluice).analysis.run(id);
  const lines = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message).filter((l) => l !== "done");
  return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

describe("outbound.allowPrivateTargets: false", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ outbound: { allowPrivateTargets: false }, analysis: { ...defaultConfig.analysis, timeoutMs: 15_000 } });
  });
  after(async () => {
    await sluice.close();
  });

  test("loopback targets fail, by IP, by name and by mapped IPv6, over TCP, fetch, unix sockets and UDP; Sluice's API works", async () => {
    const before = udpReceived;
    const seen = await run(sluice);
    for (const name of ["tcp 127.0.0.1", "tcp localhost", "tcp ::ffff:127.0.0.1", "unix socket", "udp"]) {
      assert.equal(seen.get(name), "EACCES", `${name}: ${JSON.stringify([...seen])}`);
    }
    // undici wraps the socket's error in "fetch failed" (TypeError, no code).
    assert.notEqual(seen.get("fetch"), "CONNECTED", JSON.stringify([...seen]));
    assert.equal(seen.get("sluice api"), "CONNECTED", JSON.stringify([...seen]));
    assert.equal(seen.get("sdk"), "CONNECTED", JSON.stringify([...seen]));
    assert.equal(udpReceived, before);
  });
});

describe("outbound.allowPrivateTargets: true (the default)", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice();
  });
  after(async () => {
    await sluice.close();
  });

  test("loopback targets connect", async () => {
    const seen = await run(sluice);
    for (const name of ["tcp 127.0.0.1", "tcp localhost", "fetch", "udp", "sluice api", "sdk"]) {
      assert.equal(seen.get(name), "CONNECTED", `${name}: ${JSON.stringify([...seen])}`);
    }
  });
});
