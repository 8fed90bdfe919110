import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Attack on issue 10: connections in progress are capped per address and in all
// (`maxPendingConnections*`) — but only once a socket reaches `broker.attach`. On the WebSocket
// ports that is after the HTTP upgrade, on the TLS port after the handshake, so a socket that
// connects and says nothing is not counted and not timed out by `connectTimeoutMs`. Measured on
// a running server (process fd cap 20 000): 21 000 silent sockets to the ws port from one
// address, none refused; the server reached its fd cap, every new MQTT and HTTP connection of
// every other client was reset (ECONNRESET) for as long as they were held. Idle silent sockets
// were still open after 3 minutes on the ws, TLS and HTTP ports (plain MQTT: closed at 10 s).

const PER_ADDRESS = 20;
const OPENED = 120;

async function silentSockets(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.once("connect", () => resolve(s));
      s.once("close", () => resolve(s));
    })),
  );
}

async function stillOpen(sockets: net.Socket[], waitMs: number): Promise<number> {
  await new Promise((r) => setTimeout(r, waitMs));
  return sockets.filter((s) => !s.destroyed && s.readyState === "open").length;
}

describe("attack10: silent sockets on the other MQTT transports count as connections in progress", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ mqtt: { maxPendingConnectionsPerAddress: PER_ADDRESS, maxPendingConnections: 1000, connectTimeoutMs: 1000 } });
  });
  after(async () => sluice.close());

  for (const transport of ["ws", "mqtts", "wss"] as const) {
    test(`${OPENED} silent sockets from one address on the ${transport} port: at most maxPendingConnectionsPerAddress stay, and none past connectTimeoutMs`, async () => {
      const port = sluice.ports[transport];
      const sockets = await silentSockets(port, OPENED);
      try {
        const soon = await stillOpen(sockets, 300);
        assert.ok(soon <= PER_ADDRESS, `${soon} of ${OPENED} silent sockets held on the ${transport} port (per-address cap ${PER_ADDRESS})`);
        const later = await stillOpen(sockets, 2500);
        assert.equal(later, 0, `${later} silent sockets still held after 2.8 s (connectTimeoutMs 1 s)`);
      } finally {
        for (const s of sockets) s.destroy();
      }
    });
  }
});
