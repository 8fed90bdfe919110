import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { createServer, isIP, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { OutboundGuard, OutboundRefused, REFUSED_BY_POLICY } from "../../src/outbound/guard.js";
import { GuardedPoster } from "../../src/outbound/http_post.js";
import { OwnListeners } from "../../src/outbound/own_listeners.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook_sink.js";

// The guard decides on the address connected to: names resolving to loopback, numeric and
// IPv4-mapped forms of it, and literals are all refused alike, before anything is sent.

let sink: WebhookSink;
let port: number;
before(async () => {
  sink = await startWebhookSink();
  port = Number(new URL(sink.url).port);
});
after(() => sink.close());

const closedPort = async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
};

async function refusal(promise: Promise<unknown>): Promise<OutboundRefused> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OutboundRefused, `expected a refusal, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal, the request went through");
}

describe("webhook POSTs through the guard", () => {
  const strict = new GuardedPoster(new OutboundGuard({ allowPrivateTargets: false }));
  after(() => strict.close());
  const post = (url: string) => strict.post(url, { headers: {}, body: "{}", signal: AbortSignal.timeout(3000) });

  for (const host of ["127.0.0.1", "localhost", "localhost.", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0"]) {
    test(`allowPrivateTargets false: http://${host}:PORT/ is refused and nothing reaches the server`, async (t) => {
      // A trailing-dot name resolves only where the resolver answers it (not offline).
      if (host.endsWith(".") && !(await lookup(host).then(() => true, () => false))) return t.skip(`${host} does not resolve here`);
      const before = sink.requests.length;
      const err = await refusal(post(`http://${host}:${port}/x`));
      assert.match(err.message, new RegExp(REFUSED_BY_POLICY.replace(/\./g, "\\.")));
      assert.equal(err.code, "OUTBOUND_REFUSED");
      assert.equal(sink.requests.length, before);
    });
  }

  test("an open port and a closed port are refused with the same words", async () => {
    const closed = await closedPort();
    const open = (await refusal(post(`http://localhost:${port}/`))).message;
    const shut = (await refusal(post(`http://localhost:${closed}/`))).message;
    assert.equal(open, shut);
    assert.ok(!open.includes("127.0.0.1") && !open.includes(String(port)), "neither the resolved address nor the port is told");
  });

  test("allowPrivateTargets true (the default): loopback is reached", async () => {
    const lax = new GuardedPoster(new OutboundGuard({ allowPrivateTargets: true }));
    try {
      const res = await lax.post(`http://localhost:${port}/ok`, { headers: {}, body: "{}", signal: AbortSignal.timeout(3000) });
      assert.equal(res.status, 200);
    } finally {
      lax.close();
    }
  });
});

describe("TCP/TLS connects through the guard (relays)", () => {
  let server: Server;
  let tcpPort: number;
  let accepted = 0;
  before(async () => {
    server = createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    tcpPort = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const outcome = (socket: Socket) =>
    new Promise<Error | "connected">((resolve) => {
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", resolve);
    });

  test("private targets refused for names, literals and TLS alike; nothing is accepted", async () => {
    const guard = new OutboundGuard({ allowPrivateTargets: false });
    for (const host of ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "2130706433"]) {
      const r = await outcome(guard.connect({ host, port: tcpPort }));
      assert.ok(r instanceof OutboundRefused, `${host}: ${String(r)}`);
      const t = await outcome(guard.connect({ host, port: tcpPort, tls: { rejectUnauthorized: true } }));
      assert.ok(t instanceof OutboundRefused, `${host} (TLS): ${String(t)}`);
    }
    assert.equal(accepted, 0);
  });

  test("a name that resolves to a private, non-loopback address (10.x, 192.168.x, cloud metadata) is refused on the resolved address", async (t) => {
    let checked = 0;
    const guard = new OutboundGuard({ allowPrivateTargets: false });
    // Not IP literals (isIP says 0), so the decision cannot be made on the text: getaddrinfo
    // resolves each (as it would a DNS name) to 10.0.0.1, 192.168.0.1 and 169.254.169.254, and
    // the guard refuses what it resolved to, before any packet leaves.
    for (const host of ["167772161", "0xa.1", "3232235521", "0xa9fea9fe"]) {
      assert.equal(isIP(host), 0, host);
      const resolved = await lookup(host).then((a) => a.address, () => undefined);
      if (resolved === undefined) continue; // a resolver that does not take numeric names decides nothing here
      assert.match(resolved, /^(10\.|192\.168\.|169\.254\.)/, `${host} resolved to ${resolved}`);
      const r = await outcome(guard.connect({ host, port: 80 }));
      assert.ok(r instanceof OutboundRefused, `${host} (${resolved}): ${String(r)}`);
      const web = await new GuardedPoster(guard).post(`http://${host}/`, { headers: {}, body: "{}", signal: AbortSignal.timeout(5000) }).then(() => undefined, (e: unknown) => e);
      assert.ok(web instanceof OutboundRefused, `webhook to ${host} (${resolved}): ${String(web)}`);
      checked++;
    }
    if (checked === 0) t.skip("this resolver takes no numeric names");
  });

  test("Sluice's own listener is refused whatever allowPrivateTargets says; another local port is not", async () => {
    const self = new OwnListeners();
    self.setPorts([tcpPort]);
    const guard = new OutboundGuard({ allowPrivateTargets: true, self });
    for (const host of ["localhost", "127.0.0.1", "127.0.0.2"]) {
      const r = await outcome(guard.connect({ host, port: tcpPort }));
      assert.ok(r instanceof OutboundRefused && /own broker/.test(r.message), `${host}: ${String(r)}`);
    }
    assert.equal(accepted, 0);
    self.setPorts([1]);
    assert.equal(await outcome(guard.connect({ host: "localhost", port: tcpPort })), "connected");
  });
});
