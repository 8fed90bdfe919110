import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { httpsCall } from "../helpers/users.js";

// The HTTP API over HTTPS (issue 12) on its own port (`httpsPort`), with the MQTTS listener's
// certificate and key, and the same connection bounds as the HTTP port.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice({ http: { ...defaultConfig.http, headersTimeoutMs: 1500, maxConnectionsPerAddress: 20 } });
});
after(() => sluice.close());

function certificateOf(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

describe("the HTTPS port", () => {
  test("presents the MQTTS certificate", async () => {
    const https = await certificateOf(sluice.ports.https);
    const mqtts = await certificateOf(sluice.ports.mqtts);
    assert.equal(https.fingerprint256, mqtts.fingerprint256);
    const pem = readFileSync(join(sluice.dataDir, "tls", "cert.pem"), "utf8");
    const { X509Certificate } = await import("node:crypto");
    assert.equal(new X509Certificate(pem).fingerprint256, https.fingerprint256);
  });

  test("serves the same API: routes, auth, the envelope", async () => {
    const status = await httpsCall(sluice.ports.https, "GET", "/status");
    assert.equal(status.status, 200);
    assert.equal(status.body.status, true);
    assert.equal((await httpsCall(sluice.ports.https, "GET", "/device")).status, 401);
    const devices = await httpsCall(sluice.ports.https, "GET", "/device", undefined, { token: sluice.adminToken });
    assert.equal(devices.status, 200);
    const missing = await httpsCall(sluice.ports.https, "GET", "/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.status, false);
  });

  test("closes a TLS socket that sends no request within http.headersTimeoutMs", async () => {
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: sluice.ports.https, rejectUnauthorized: false });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve());
      setTimeout(() => reject(new Error("still open after 5 s")), 5000).unref();
    });
    assert.ok(Date.now() - started >= 1000, "not before its time");
  });

  test("a keep-alive HTTPS connection serving requests is not cut by the first-request timer", async () => {
    const { Agent, request } = await import("node:https");
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const get = () => new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port: sluice.ports.https, path: "/status", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      }).on("error", reject).end();
    });
    try {
      for (let i = 0; i < 4; i++) {
        assert.equal(await get(), 200);
        await new Promise((r) => setTimeout(r, 600));
      }
    } finally {
      agent.destroy();
    }
  });

  test("open connections are capped per address, both ports together", async () => {
    const { connect } = await import("node:net");
    const sockets = Array.from({ length: 12 }, () => connect(sluice.ports.http, "127.0.0.1"));
    const tlsSockets = Array.from({ length: 12 }, () => tlsConnect({ host: "127.0.0.1", port: sluice.ports.https, rejectUnauthorized: false }));
    const closed = await Promise.all([...sockets, ...tlsSockets].map((s) => new Promise<number>((resolve) => {
      const t0 = Date.now();
      s.on("error", () => undefined);
      s.on("close", () => resolve(Date.now() - t0));
    })));
    // 24 sockets against a cap of 20: at least 4 closed at once (long before the 1.5 s timeout).
    assert.ok(closed.filter((ms) => ms < 1000).length >= 4, JSON.stringify(closed));
  });
});
