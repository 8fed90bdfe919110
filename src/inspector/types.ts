/** What the live inspector shows about one device (ring per device, streamed live). */
export type InspectorEventKind =
  | "connect"
  | "disconnect"
  | "subscribe"
  | "unsubscribe"
  | "message_in"
  | "message_out"
  | "http_in"
  | "parser_input"
  | "parser_output"
  | "parser_log"
  | "action"
  | "stored"
  | "error"
  /** A webhook delivery that failed for good (url, status, attempts, error). */
  | "dead_letter";

export interface InspectorEvent {
  /** Increasing per server, so a client can resume a stream (`Last-Event-ID`). */
  id: number;
  deviceId: string;
  time: Date;
  kind: InspectorEventKind;
  /** One line for lists and terminals. */
  summary: string;
  /** Structured detail (topic, qos, payload preview, records, error code...). */
  detail?: Record<string, unknown>;
  /**
   * Recorded by another node and relayed here live (never serialized): a node answering
   * another's history request sends only the events it recorded itself (cluster/inspector_history.ts).
   */
  relayed?: true;
}

export interface InspectorSink {
  /**
   * Records an event unless the device's inspector is switched off. Must cost next to nothing
   * when nobody watches: callers on hot paths first check `wants(deviceId)` before building
   * detail objects.
   */
  wants(deviceId: string): boolean;
  /**
   * Whether someone follows the device live. Per-message events (messages in and out, parser
   * runs, actions, stores) are recorded only then, so a busy device nobody inspects pays a Map
   * lookup per message; connections, subscriptions and errors are always kept (when `wants`).
   */
  watching(deviceId: string): boolean;
  record(deviceId: string, kind: InspectorEventKind, summary: string, detail?: Record<string, unknown>): void;
}
