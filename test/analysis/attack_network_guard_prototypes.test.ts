import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";

// Attack (issue 9 follow-up): with `outbound.allowPrivateTargets: false`, network_guard.ts
// checks each connect inside the analysis process with code that calls things the script can
// replace before it connects:
// - `isPrivateAddress` asks a `net.BlockList` instance, whose `check` is
//   `net.BlockList.prototype.check`: `BlockList.prototype.check = () => false` makes every
//   address public (loopback, 10/8, 169.254.169.254...).
// - the guarded method calls `original.apply(this, args)`: a replaced
//   `Function.prototype.apply` receives the unguarded libuv `connect` as `this` (and can rewrite
//   the address after the check).
// docs/security.md: "with outbound.allowPrivateTargets: false an analysis cannot connect to
// non-public addresses ... except Sluice's own API".

let target: Server;
let sluice: TestSluice;
before(async () => {
  target = createServer((socket) => socket.on("error", () => undefined).end("private"));
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
  sluice = await startSluice({ outbound: { allowPrivateTargets: false }, analysis: { ...defaultConfig.analysis, timeoutMs: 15_000 } });
});
after(async () => {
  target.close();
  await sluice.close();
});

describe("outbound.allowPrivateTargets: false holds against a script that rewrites built-ins first", () => {
  test("a patched BlockList.prototype.check or Function.prototype.apply does not open loopback", async () => {
    const port = (target.address() as AddressInfo).port;
    const { id } = await createAnalysis(resourcesOf(sluice), `
      const net = require("node:net");
      const tcp = (name, options) => new Promise((resolve) => net.connect(options)
        .on("data", function (d) { console.log(name, String(d) === "private" ? "CONNECTED" : "OTHER"); this.destroy(); resolve(); })
        .on("error", (e) => { console.log(name, e.code || e.message); resolve(); }));
      (async () => {
        await tcp("plain", { host: "127.0.0.1", port: ${port} });
        const check = net.BlockList.prototype.check;
        net.BlockList.prototype.check = () => false;
        await tcp("BlockList.prototype.check replaced", { host: "127.0.0.1", port: ${port} });
        net.BlockList.prototype.check = check;
        const apply = Function.prototype.apply;
        Function.prototype.apply = function (self, args) {
          if (this.name === "connect" && args && args.length === 3) { args[1] = "127.0.0.1"; args[2] = ${port}; }
          return Reflect.apply(this, self, args ?? []);
        };
        // Asks for a public address (TEST-NET-3, never answered); the check passes, then the address changes.
        await tcp("Function.prototype.apply replaced", { host: "203.0.113.7", port: 80 });
        Function.prototype.apply = apply;
        console.log("done");
      })();`);
    await resourcesOf(sluice).analysis.run(id);
    const lines = (await consoleLine(sluice, id, /^done$/)).map((l) => l.message).filter((l) => l !== "done");
    const seen = new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
    assert.equal(seen.get("plain"), "EACCES", JSON.stringify([...seen]));
    assert.notEqual(seen.get("BlockList.prototype.check replaced"), "CONNECTED", JSON.stringify([...seen]));
    assert.notEqual(seen.get("Function.prototype.apply replaced"), "CONNECTED", JSON.stringify([...seen]));
  });
});
