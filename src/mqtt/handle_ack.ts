import type { IPubackPacket, IPubcompPacket, IPubrecPacket, IPubrelPacket } from "mqtt-packet";
import type { Connection } from "./connection.js";
import { drainQueue } from "./delivery.js";
import { RC } from "./reason_codes.js";
import { pubcompSent } from "./receive_maximum.js";

type AckPacket = IPubackPacket | IPubrecPacket | IPubrelPacket | IPubcompPacket;

/**
 * The QoS 1/2 acknowledgement flows (§4.3): PUBACK, PUBREC and PUBCOMP for messages we sent,
 * PUBREL for QoS 2 messages we received.
 */
export function handleAck(conn: Connection, packet: AckPacket): void {
  const session = conn.session!;
  const id = packet.messageId!;
  switch (packet.cmd) {
    case "puback": {
      const entry = session.inflight.get(id);
      if (entry && entry.qos === 1) {
        session.inflight.delete(id);
        drainQueue(session);
      }
      return;
    }
    case "pubrec": {
      const entry = session.inflight.get(id);
      if (!entry || entry.qos !== 2) {
        conn.send({ cmd: "pubrel", messageId: id, reasonCode: RC.PACKET_IDENTIFIER_NOT_FOUND });
        return;
      }
      if ((packet.reasonCode ?? 0) >= 0x80) {
        // The receiver refused the message: the flow ends here (§4.3.3).
        session.inflight.delete(id);
        drainQueue(session);
        return;
      }
      entry.state = "pubrel";
      conn.send({ cmd: "pubrel", messageId: id });
      return;
    }
    case "pubcomp": {
      if (session.inflight.get(id)?.state === "pubrel") {
        session.inflight.delete(id);
        drainQueue(session);
      }
      return;
    }
    case "pubrel": {
      const known = session.incomingQos2.delete(id);
      pubcompSent(conn, id);
      conn.send({ cmd: "pubcomp", messageId: id, reasonCode: known ? RC.SUCCESS : RC.PACKET_IDENTIFIER_NOT_FOUND });
      return;
    }
  }
}
