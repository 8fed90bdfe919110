import net from "node:net";
import type { Broker } from "../broker.js";

/** MQTT over plain TCP (port 1883 by default). */
export function listenTcp(broker: Broker, host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ noDelay: true });
  broker.watchListener(server); // first: the socket counts as in progress from the accept
  server.on("connection", (socket: net.Socket) => {
    if (socket.destroyed) return; // refused by a cap
    broker.attach({
      stream: socket,
      transport: "tcp",
      remoteAddress: socket.remoteAddress ?? "unknown",
      bufferedBytes: () => socket.writableLength,
      pending: broker.pendingConnections.claim(socket),
    });
  });
  return listen(server, host, port);
}

export function listen<S extends net.Server>(server: S, host: string, port: number): Promise<S> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
