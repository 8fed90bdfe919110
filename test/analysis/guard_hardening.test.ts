import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runProcess } from "../../src/analysis/process_runner.js";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";

// The guards against a script that attacks them first (follow-up of the review's
// attack_*.test.ts): arguments whose valueOf changes between check and use, replaced
// Reflect/Function/Object built-ins, listening, DNS servers. Each attempt prints
// "<name> <outcome>"; the run ends with "done".

let target: Server; // a service on every interface of Sluice's host
let sluice: TestSluice;
before(async () => {
  target = createServer((socket) => socket.on("error", () => undefined).end("private"));
  await new Promise<void>((resolve) => target.listen(0, "0.0.0.0", resolve));
  sluice = await startSluice({ outbound: { allowPrivateTargets: false }, analysis: { ...defaultConfig.analysis, timeoutMs: 15_000 } });
});
after(async () => {
  target.close();
  await sluice.close();
});

async function outcomes(code: string): Promise<Map<string, string>> {
  const { id } = await createAnalysis(resourcesOf(sluice), code);
  await resourcesOf(sluice).analysis.run(id);
  const lines = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message).filter((l) => l !== "done");
  return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

const ATTEMPT = `const attempt = (name, fn) => { try { const r = fn(); console.log(name, "ALLOWED"); return r; } catch (e) { console.log(name, e.code || e.message); } };`;

describe("the process guard", () => {
  test("an argument whose valueOf changes between check and use, and replaced Reflect/Function built-ins, reach nothing", async () => {
    const seen = await outcomes(`${ATTEMPT}
      const os = require("node:os");
      const flip = () => { let n = 0; return { valueOf() { return n++ === 0 ? process.pid : process.ppid; } }; };
      attempt("kill with a flipping pid", () => process.kill(flip(), 0));
      attempt("_kill with a flipping pid", () => process._kill(flip(), 0));
      attempt("setPriority with a flipping pid", () => os.setPriority(flip(), 19));
      attempt("kill with a numeric string of its own pid", () => process.kill(String(process.pid), 0));
      attempt("kill with a numeric string of the parent", () => process.kill(String(process.ppid), 0));
      const saved = { apply: Reflect.apply, fapply: Function.prototype.apply, call: Function.prototype.call, bind: Function.prototype.bind, is: Number.isInteger };
      Reflect.apply = (f, self, args) => saved.apply(f, self, [process.ppid, ...args.slice(1)]);
      Function.prototype.apply = function (self, args) { return saved.apply(this, self, [process.ppid, ...(args || []).slice(1)]); };
      Function.prototype.call = function (self, ...args) { return saved.apply(this, self, [process.ppid, ...args.slice(1)]); };
      Number.isInteger = () => true;
      attempt("kill self, built-ins replaced", () => process.kill(process.pid, 0));
      attempt("kill parent, built-ins replaced", () => process.kill(process.ppid, 0));
      attempt("setPriority parent, built-ins replaced", () => os.setPriority(process.ppid, 19));
      Reflect.apply = saved.apply; Function.prototype.apply = saved.fapply; Function.prototype.call = saved.call; Number.isInteger = saved.is;
      console.log("done");`);
    const expected: Record<string, string> = {
      "_kill with a flipping pid": "ERR_ACCESS_DENIED",
      "setPriority with a flipping pid": "ERR_ACCESS_DENIED",
      "kill with a numeric string of its own pid": "ALLOWED",
      "kill with a numeric string of the parent": "ERR_ACCESS_DENIED",
      // The original receives the pid the guard checked, whatever Reflect.apply now does.
      "kill self, built-ins replaced": "ALLOWED",
      "kill parent, built-ins replaced": "ERR_ACCESS_DENIED",
      "setPriority parent, built-ins replaced": "ERR_ACCESS_DENIED",
    };
    for (const [name, outcome] of Object.entries(expected)) assert.equal(seen.get(name), outcome, `${name}: ${JSON.stringify([...seen])}`);
    // process.kill itself notices a pid that changes between its two reads; refused either way.
    assert.match(seen.get("kill with a flipping pid") ?? "", /^(ERR_ACCESS_DENIED|ERR_INVALID_ARG_TYPE)$/, JSON.stringify([...seen]));
  });

  test("an analysis cannot listen: TCP, unix sockets, UDP on a port; a UDP socket still gets an ephemeral port", async () => {
    const seen = await outcomes(`
      const net = require("node:net"), dgram = require("node:dgram");
      const report = (name, promise) => promise.then(() => console.log(name, "ALLOWED"), (e) => console.log(name, e.code || e.message));
      const listen = (...args) => new Promise((resolve, reject) => { const s = net.createServer(); s.on("error", reject); s.listen(...args, () => { s.close(); resolve(); }); });
      const bind = (port) => new Promise((resolve, reject) => { const s = dgram.createSocket("udp4"); s.on("error", reject); s.bind(port, "0.0.0.0", () => { s.close(); resolve(); }); });
      (async () => {
        await report("tcp 0.0.0.0:38999", listen(38999, "0.0.0.0"));
        await report("tcp ephemeral", listen(0));
        await report("http", new Promise((resolve, reject) => { const s = require("node:http").createServer(); s.on("error", reject); s.listen(0, () => { s.close(); resolve(); }); }));
        await report("unix abstract socket", listen("\\0sluice-analysis-test"));
        await report("udp 38999", bind(38999));
        await report("udp port 0", bind(0));
        console.log("done");
      })();`);
    for (const name of ["tcp 0.0.0.0:38999", "tcp ephemeral", "http", "unix abstract socket", "udp 38999"]) {
      assert.equal(seen.get(name), "EACCES", `${name}: ${JSON.stringify([...seen])}`);
    }
    assert.equal(seen.get("udp port 0"), "ALLOWED", JSON.stringify([...seen]));
  });
});

describe("the network guard (allowPrivateTargets: false)", () => {
  test("Object.prototype setters, object addresses and replaced Reflect.apply do not open loopback", async () => {
    const port = (target.address() as AddressInfo).port;
    const seen = await outcomes(`
      const net = require("node:net");
      const tcp = (name, options) => new Promise((resolve) => {
        const timer = setTimeout(() => { console.log(name, "TIMEOUT"); socket.destroy(); resolve(); }, 1500);
        const socket = net.connect(options)
          .on("data", function (d) { clearTimeout(timer); console.log(name, String(d) === "private" ? "CONNECTED" : "OTHER"); this.destroy(); resolve(); })
          .on("error", (e) => { clearTimeout(timer); console.log(name, e.code || e.message); resolve(); });
      });
      (async () => {
        // BlockList.prototype.check reads options.port and options.flowlabel from Object.prototype.
        Object.prototype.flowlabel = -1;
        await tcp("Object.prototype.flowlabel", { host: "127.0.0.1", port: ${port} });
        delete Object.prototype.flowlabel;
        // (A replaced RegExp.prototype.exec breaks net's own isIP before the guard: address_policy.test.ts covers it.)
        const saved = { startsWith: String.prototype.startsWith, slice: String.prototype.slice, indexOf: String.prototype.indexOf };
        String.prototype.startsWith = () => false;
        String.prototype.indexOf = () => -1;
        await tcp("String methods replaced", { host: "::ffff:127.0.0.1", port: ${port} });
        Object.assign(String.prototype, saved);
        // A handle's connect called directly with an address whose toString changes.
        const socket = new net.Socket(); socket.connect({ host: "sluice.invalid", port: 1, lookup: () => undefined });
        let n = 0; const flipping = { toString() { return n++ === 0 ? "8.8.8.8" : "127.0.0.1"; } };
        const handle = socket._handle;
        const req = { oncomplete() {} };
        console.log("object address", handle.connect(req, flipping, ${port}) === 0 ? "ALLOWED" : "REFUSED");
        socket.destroy();
        const apply = Reflect.apply;
        Reflect.apply = (f, self, args) => { if (args && args.length === 3) { args[1] = "127.0.0.1"; args[2] = ${port}; } return apply(f, self, args); };
        Function.prototype.apply = function (self, args) { if (args && args.length === 3) { args[1] = "127.0.0.1"; args[2] = ${port}; } return apply(this, self, args ?? []); };
        await tcp("Reflect.apply replaced", { host: "8.8.8.8", port: 80 });
        Reflect.apply = apply;
        console.log("done");
      })();`);
    assert.equal(seen.get("Object.prototype.flowlabel"), "EACCES", JSON.stringify([...seen]));
    assert.equal(seen.get("String methods replaced"), "EACCES", JSON.stringify([...seen]));
    assert.equal(seen.get("object address"), "REFUSED", JSON.stringify([...seen]));
    assert.notEqual(seen.get("Reflect.apply replaced"), "CONNECTED", JSON.stringify([...seen]));
  });

  test("DNS servers: private ones are refused however they are set; public ones are not", async () => {
    const seen = await outcomes(`${ATTEMPT}
      const dns = require("node:dns");
      attempt("dns.setServers", () => dns.setServers(["127.0.0.1:5353"]));
      attempt("dns.promises.setServers", () => dns.promises.setServers(["10.0.0.1"]));
      attempt("Resolver", () => new dns.Resolver().setServers(["[::1]:53"]));
      attempt("promises Resolver", () => new dns.promises.Resolver().setServers(["169.254.169.254"]));
      attempt("mapped", () => new dns.Resolver().setServers(["[::ffff:127.0.0.1]:53"]));
      attempt("public", () => new dns.Resolver().setServers(["8.8.8.8", "[2001:4860:4860::8888]:53"]));
      console.log("done");`);
    for (const name of ["dns.setServers", "dns.promises.setServers", "Resolver", "promises Resolver", "mapped"]) {
      assert.equal(seen.get(name), "ERR_ACCESS_DENIED", `${name}: ${JSON.stringify([...seen])}`);
    }
    assert.equal(seen.get("public"), "ALLOWED", JSON.stringify([...seen]));
  });
});

describe("the host's own addresses (allowPrivateTargets: false)", () => {
  test("are refused like private ones, in any spelling; Sluice's API host:port stays open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-own-"));
    try {
      const port = (target.address() as AddressInfo).port;
      // Public addresses standing for the host's (a real host's public IP would be among its interfaces).
      const script = join(dir, "own.cjs");
      writeFileSync(script, `
        const net = require("node:net");
        const tcp = (name, host, port) => new Promise((resolve) => {
          const timer = setTimeout(() => { console.log(name, "TIMEOUT"); socket.destroy(); resolve(); }, 1000);
          const socket = net.connect({ host, port }).on("connect", () => { clearTimeout(timer); console.log(name, "CONNECTED"); socket.destroy(); resolve(); })
            .on("error", (e) => { clearTimeout(timer); console.log(name, e.code || e.message); resolve(); });
        });
        (async () => {
          await tcp("own", "1.2.3.4", 80);
          await tcp("own mapped", "::ffff:1.2.3.4", 80);
          await tcp("own v6", "2001:4860:0:1::1", 80);
          await tcp("api", "127.0.0.1", ${port});
          console.log("env", Object.keys(process.env).filter((k) => k.startsWith("SLUICE_")).join(",") || "none");
          console.log("done");
        })();`);
      const lines: string[] = [];
      await runProcess(
        { nodePath: process.execPath, script, readable: [dir], env: { TAGOIO_API: `http://127.0.0.1:${port}` }, cwd: dir, allowPrivateTargets: false, ownAddresses: ["1.2.3.4", "2001:4860:0:1:0:0:0:1"] },
        { timeoutMs: 10_000, cpuSeconds: 10, memoryMb: 256, outputBytes: 65536 },
        (line) => lines.push(line),
      );
      const seen = new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
      for (const name of ["own", "own mapped", "own v6"]) assert.equal(seen.get(name), "EACCES", `${name}: ${JSON.stringify(lines)}`);
      assert.equal(seen.get("api"), "CONNECTED", JSON.stringify(lines));
      assert.equal(seen.get("env"), "none", "the preloads take their variables out of the script's environment");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
