/** Why a message from the bus was not delivered, or one for the bus not sent. */
export type ClusterDropReason =
  /** Not an envelope, or one that breaks its own rules (bad UTF-8, invalid topic, trailing bytes...). */
  | "malformed"
  /** An envelope of another version. */
  | "version"
  /** A valid envelope on a subject its topic and namespace would not be published on. */
  | "subject_mismatch"
  /** This node's own message, come back (should not happen: the bus connection does not echo). */
  | "own"
  /** Heard twice through overlapping subscriptions of this node. */
  | "duplicate"
  /** For a `$share` group with no member left on this node. */
  | "no_group_member"
  /** QoS 0 accepted while the bus was unreachable: delivered on this node only. */
  | "unavailable"
  /** Larger than the bus's max_payload. */
  | "too_large"
  /** The bus did not confirm it in time, or refused it. */
  | "publish_failed"
  /** Deeper than this node's `mqtt.maxTopicLevels` (another node may be configured otherwise). */
  | "topic_too_deep"
  /** A connect notice stamped too far ahead of this node's clock to believe. */
  | "clock_ahead"
  /** Routing it threw (a defect): dropped and logged, the node goes on. */
  | "handler_error";

/** Counters the cluster keeps on its path (plain numbers; Prometheus reads them at scrape time). */
export class ClusterStats {
  /** Messages sent on the bus. */
  published = 0;
  /** Envelopes received from the bus, valid or not. */
  received = 0;
  /** Received messages handed to this node's broker (plain subscribers, or a group). */
  routed = 0;
  readonly dropped: Record<string, number> = {};
  /** NATS subscriptions held for interest (plain and queue), now. */
  subscriptions = 0;
  /** Connect notices received from the bus, valid or not (src/cluster/connect_notice.ts). */
  notices = 0;
  /** Control messages received from the bus (revocations, cache invalidations, interest, usage), valid or not. */
  controls = 0;
  /** Events of `/events` and the inspector received from other nodes and handed to listeners here. */
  relayed = 0;
  /** Connections ended here because their client id connected on another node. */
  takeovers = 0;
  /** Times the bus connection was lost. */
  disconnects = 0;

  drop(reason: ClusterDropReason, n = 1): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
  }
}
