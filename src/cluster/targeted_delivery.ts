import { isValidTopicName } from "../mqtt/topics.js";
import { decodeBusJson, encodeBusJson, idField, MAX_BUS_JSON_BYTES } from "./bus_json.js";
import type { ControlBus } from "./control.js";
import type { BusSubscription } from "./interest.js";
import { SUBJECT_PREFIX } from "./subjects.js";

/**
 * A message the platform sends to one device (an action's downlink, an analysis's MQTT service,
 * a control widget) reaches the device's sessions on every node: it is injected where it was made,
 * and told to the other nodes, which inject it for that device's sessions they hold. Routing
 * cannot carry it: its recipients are chosen by device, not by subscription (docs/cluster.md,
 * "Messages for one device").
 */
export const TARGETED_SUBJECT = `${SUBJECT_PREFIX}.x.deliver`;
const KIND = "deliver";

export interface TargetedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export class TargetedDelivery {
  private sub: BusSubscription | undefined;

  constructor(
    private readonly bus: ControlBus,
    /** Gives a message heard from another node to this node's sessions of the device. */
    private readonly deliver: (accountId: string, deviceId: string, message: TargetedMessage) => void,
  ) {}

  start(): void {
    this.sub = this.bus.listen(TARGETED_SUBJECT, (_subject, data) => this.heard(data));
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** Tells the other nodes; false when it cannot go (the bus is down, or the message is past the bus's JSON bound). */
  send(accountId: string, deviceId: string, m: TargetedMessage): boolean {
    const data = encodeBusJson(this.bus.origin, KIND, { accountId, deviceId, topic: m.topic, payload: m.payload.toString("base64"), qos: m.qos, retain: m.retain });
    if (data.length > MAX_BUS_JSON_BYTES) {
      this.bus.stats.drop("too_large");
      return false;
    }
    return this.bus.send(TARGETED_SUBJECT, data);
  }

  private heard(data: Uint8Array): void {
    const stats = this.bus.stats;
    const decoded = decodeBusJson(data);
    if (!decoded.ok) return stats.drop(decoded.reason);
    if (decoded.origin === this.bus.origin) return stats.drop("own");
    const o = decoded.body;
    const accountId = idField(o, "accountId");
    const deviceId = idField(o, "deviceId");
    const { topic, payload, qos, retain } = o;
    if (
      decoded.kind !== KIND || accountId === undefined || deviceId === undefined || typeof topic !== "string" || !isValidTopicName(topic)
      || typeof payload !== "string" || (qos !== 0 && qos !== 1 && qos !== 2) || typeof retain !== "boolean"
    ) {
      return stats.drop("malformed");
    }
    this.deliver(accountId, deviceId, { topic, payload: Buffer.from(payload, "base64"), qos, retain });
  }
}
