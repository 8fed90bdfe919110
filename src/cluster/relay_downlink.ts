/**
 * A downlink for a relayed device raised on a node that does not run the relays (docs/cluster.md,
 * "Relays"): sent over NATS request/reply to the node holding the `relays` lease, which alone
 * subscribes the subject while it holds it. The reply says how many relays took the message.
 */
import type { NatsConnection, Subscription } from "nats";
import { isValidTopicName } from "../mqtt/topics.js";
import type { Logger } from "../observability/logger.js";

export const RELAY_DOWNLINK_SUBJECT = "sluice.s.relay.downlink";
const VERSION = 1;
/** Ids and topics are far shorter; a bound keeps a hostile request from costing much. */
const MAX_ID = 256;
const MAX_TOPIC = 65_535;

export interface ForwardedDownlink {
  accountId: string;
  deviceId: string;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export type DownlinkDropReason = "malformed" | "version" | "no_relay_node" | "failed";

export interface RelayDownlinkBusOptions {
  /** The node's bus connection, once it has one (ClusterNode.connection). */
  connection(): NatsConnection | undefined;
  /** How long a forward waits for the relay node's answer. */
  timeoutMs: number;
  logger: Logger;
  dropped?(reason: DownlinkDropReason): void;
}

export class RelayDownlinkBus {
  private sub: Subscription | undefined;
  private handler: ((d: ForwardedDownlink) => Promise<number>) | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: RelayDownlinkBusOptions) {}

  /** Sends a downlink to the relay node; resolves with how many relays took it (0 when none answered). */
  async forward(d: ForwardedDownlink): Promise<number> {
    const nc = this.options.connection();
    if (!nc) {
      this.options.dropped?.("no_relay_node");
      return 0;
    }
    const body = JSON.stringify({
      v: VERSION, account: d.accountId, device: d.deviceId, topic: d.topic, payload: d.payload.toString("base64"), qos: d.qos, retain: d.retain,
    });
    try {
      const reply = await nc.request(RELAY_DOWNLINK_SUBJECT, new TextEncoder().encode(body), { timeout: this.options.timeoutMs });
      const taken = Number(new TextDecoder().decode(reply.data));
      return Number.isInteger(taken) && taken >= 0 ? taken : 0;
    } catch (err) {
      // No responders: the relays are between nodes (a failover). QoS 1/2 downlinks queued by a
      // relay survive that; one raised in this window is lost, as for a relay not connected.
      this.options.dropped?.("no_relay_node");
      this.options.logger.warn({ err: (err as Error).message, deviceId: d.deviceId }, "no node running the relays answered a downlink");
      return 0;
    }
  }

  /** While this node runs the relays: answers forwarded downlinks with `handle`. */
  serve(handle: (d: ForwardedDownlink) => Promise<number>): void {
    this.handler = handle;
    this.subscribe();
  }

  /** `serve` / `unserve` bound to a relay service, for the lease that runs it (singleton_work.ts). */
  serving(relays: { downlink(accountId: string, deviceId: string, m: Omit<ForwardedDownlink, "accountId" | "deviceId">): Promise<number> }): { serve(): void; unserve(): void } {
    return {
      serve: () => this.serve((d) => relays.downlink(d.accountId, d.deviceId, d)),
      unserve: () => this.unserve(),
    };
  }

  /** Stops answering at once (the lease is gone). */
  unserve(): void {
    this.handler = undefined;
    clearTimeout(this.retry);
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private subscribe(): void {
    if (!this.handler || this.sub) return;
    const nc = this.options.connection();
    if (!nc) {
      // NATS not reached yet: the relays run meanwhile, forwarded downlinks wait for this.
      this.retry = setTimeout(() => this.subscribe(), 500);
      this.retry.unref();
      return;
    }
    this.sub = nc.subscribe(RELAY_DOWNLINK_SUBJECT, {
      callback: (err, msg) => {
        if (err || !this.handler) return;
        const d = decodeDownlink(msg.data);
        if (typeof d === "string") {
          this.options.dropped?.(d);
          return;
        }
        this.handler(d).then(
          (taken) => msg.respond(new TextEncoder().encode(String(taken))),
          (error: unknown) => {
            this.options.dropped?.("failed");
            this.options.logger.error({ err: error, deviceId: d.deviceId }, "a forwarded relay downlink failed");
            msg.respond(new TextEncoder().encode("0"));
          },
        );
      },
    });
  }
}

/** A forwarded downlink checked field by field (anyone on NATS may publish there), or why not. */
export function decodeDownlink(data: Uint8Array): ForwardedDownlink | "malformed" | "version" {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "malformed";
    v = parsed as Record<string, unknown>;
  } catch {
    return "malformed";
  }
  if (v.v !== VERSION) return "version";
  const str = (x: unknown, max: number) => typeof x === "string" && x.length > 0 && x.length <= max;
  if (!str(v.account, MAX_ID) || !str(v.device, MAX_ID) || !str(v.topic, MAX_TOPIC) || !isValidTopicName(v.topic as string)) return "malformed";
  if (typeof v.payload !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.payload)) return "malformed";
  if (v.qos !== 0 && v.qos !== 1 && v.qos !== 2) return "malformed";
  if (typeof v.retain !== "boolean") return "malformed";
  return {
    accountId: v.account as string, deviceId: v.device as string, topic: v.topic as string,
    payload: Buffer.from(v.payload, "base64"), qos: v.qos, retain: v.retain,
  };
}
