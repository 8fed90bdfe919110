import tls from "node:tls";
import type { Broker } from "../broker.js";
import { listen } from "./tcp.js";

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * MQTT over TLS (port 8883 by default). A failed handshake never reaches the broker. The TCP
 * socket counts as a connection in progress from the accept, handshake included (a socket that
 * never sends a ClientHello is closed at `connectTimeoutMs` like one that never sends CONNECT).
 */
export function listenTls(broker: Broker, host: string, port: number, material: TlsMaterial): Promise<tls.Server> {
  const server = tls.createServer({ cert: material.cert, key: material.key, handshakeTimeout: broker.limits.connectTimeoutMs }, (socket) => {
    socket.setNoDelay(true);
    broker.attach({
      stream: socket,
      transport: "tls",
      remoteAddress: socket.remoteAddress ?? "unknown",
      bufferedBytes: () => socket.writableLength,
      pending: broker.pendingConnections.claim(socket),
    });
  });
  broker.watchListener(server);
  server.on("tlsClientError", (err) => broker.logger.debug({ err: err.message }, "TLS handshake failed"));
  return listen(server, host, port);
}
