import http from "node:http";
import https from "node:https";
import { WebSocketServer, createWebSocketStream } from "ws";
import type { Broker } from "../broker.js";
import { listen } from "./tcp.js";
import type { TlsMaterial } from "./tls.js";

/**
 * MQTT over WebSocket (§6 of both specs): binary frames on `path`, subprotocol `mqtt`
 * (or `mqttv3.1` for old clients). With `tls` it serves wss. The TCP socket counts as a
 * connection in progress from the accept (TLS handshake and HTTP upgrade included), so its caps
 * and deadline hold however slowly the handshakes go.
 */
export function listenWebSocket(broker: Broker, host: string, port: number, path: string, tls?: TlsMaterial): Promise<http.Server> {
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
  broker.watchListener(server);
  server.on("request", (_req, res) => {
    res.writeHead(426, { "content-type": "application/json" }).end(JSON.stringify({ status: false, message: "use a WebSocket (MQTT) connection" }));
  });
  const wss = new WebSocketServer({
    server,
    path,
    maxPayload: broker.limits.maxPacketSize + 5,
    handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : protocols.has("mqttv3.1") ? "mqttv3.1" : false),
  });
  // The ws library re-emits the HTTP server's errors here; an unheard 'error' would throw. A
  // failed listen is reported by `listen` below.
  wss.on("error", () => undefined);
  wss.on("connection", (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on("error", () => ws.terminate());
    broker.attach({
      stream,
      transport: tls ? "wss" : "ws",
      remoteAddress: req.socket.remoteAddress ?? "unknown",
      bufferedBytes: () => ws.bufferedAmount + stream.writableLength,
      pending: broker.pendingConnections.claim(req.socket),
    });
  });
  return listen(server, host, port);
}
