import type { MqttPrincipal } from "../access/broker_hooks.js";
import { toApiRecord, type ApiRecord } from "../data/api_record.js";
import type { BucketStore } from "../data/types.js";
import type { InspectorSink } from "../inspector/types.js";
import { RC } from "../mqtt/reason_codes.js";
import type { Message, PublishedEvent } from "../mqtt/types.js";
import { IngestError } from "./ingest.js";

/** Requests are published under this prefix; anything after it names the request. */
export const PULL_PREFIX = "$pull/";
/** The answer goes to the request topic plus this suffix (unless a 5.0 Response Topic says otherwise). */
export const PULL_ACK_SUFFIX = "/ack";
/** Variables one request may ask for. */
export const MAX_PULLED_VARIABLES = 100;

export interface PullDeps {
  buckets: BucketStore;
  inspector: InspectorSink;
  /** Delivers `message` in the account's namespace to the sessions of one device only. */
  reply(accountId: string, deviceId: string, message: Message): void;
}

/**
 * Pulling last values over MQTT, so that a device that wakes up gets its state without any
 * retained message (the pull topic of TagoIO's successor protocol, in Sluice's design):
 * the device publishes the names of variables to `$pull/<name>` (a JSON array, `{"variables":
 * [...]}`, or a comma-separated list) and receives, on `$pull/<name>/ack`, a JSON array of the
 * last record of each of them from its own bucket, in the order asked (variables with no value
 * yet are left out). An MQTT 5 request may name its own Response Topic and Correlation Data,
 * which the answer honours. The answer goes only to the asking device's sessions, at the
 * request's QoS (at most 1); a bad request gets `{"error": "..."}` there, reason code 0x99 (or
 * 0x87 for a token that cannot read) on its PUBACK in MQTT 5, and an inspector event.
 * Requests are consumed: no action or parser sees them.
 */
export class PullRequests {
  constructor(private readonly deps: PullDeps) {}

  /** Whether `topic` is a pull request (and not the answer to one). */
  static isRequest(topic: string): boolean {
    return topic.charCodeAt(0) === 36 /* $ */ && topic.startsWith(PULL_PREFIX) && !topic.endsWith(PULL_ACK_SUFFIX) && topic.length > PULL_PREFIX.length;
  }

  /**
   * For the broker's `published` hook: answers a pull request (the returned promise settles once
   * the answer is on its way, so a QoS 1 PUBACK follows it); undefined for every other topic.
   */
  handle(event: PublishedEvent): Promise<void> | undefined {
    const { message } = event;
    if (!PullRequests.isRequest(message.topic)) return undefined;
    const p = event.client?.principal as MqttPrincipal | undefined;
    if (!p || !p.deviceId || event.origin === "will") return Promise.resolve();
    // A QoS 0 request's failure, already told to the device and the inspector, is dropped by
    // the broker like any hook's (handle_publish.ts).
    return this.answer(p, message);
  }

  private async answer(p: MqttPrincipal, request: Message): Promise<void> {
    const { inspector } = this.deps;
    try {
      if (p.permission === "write") throw new IngestError("NOT_AUTHORIZED", "pull needs a token that may read the device's data", RC.NOT_AUTHORIZED);
      const variables = parseVariables(request.payload);
      const found: ApiRecord[] = [];
      for (const variable of variables) {
        const record = await this.deps.buckets.lastValue(p.deviceId, variable);
        if (record) found.push(toApiRecord(record));
      }
      this.send(p, request, found);
      if (inspector.watching(p.deviceId) && inspector.wants(p.deviceId)) {
        inspector.record(p.deviceId, "message_out", `pull ${request.topic}: ${found.length} of ${variables.length} variable(s)`, { variables, found: found.length });
      }
    } catch (err) {
      const failure = err instanceof IngestError ? err : new IngestError("PULL_FAILED", (err as Error).message, RC.UNSPECIFIED_ERROR);
      this.send(p, request, { error: failure.message });
      if (inspector.wants(p.deviceId)) inspector.record(p.deviceId, "error", `pull ${request.topic}: ${failure.message}`, { code: failure.code });
      throw failure;
    }
  }

  private send(p: MqttPrincipal, request: Message, body: unknown): void {
    const correlationData = request.properties?.correlationData;
    this.deps.reply(p.accountId, p.deviceId, {
      topic: request.properties?.responseTopic ?? request.topic + PULL_ACK_SUFFIX,
      payload: Buffer.from(JSON.stringify(body)),
      qos: request.qos === 0 ? 0 : 1,
      retain: false,
      properties: correlationData ? { correlationData } : undefined,
      expiresAt: undefined,
      publisher: undefined,
    });
  }
}

/** The variable names a request asks for, lowercased as stored; refuses what it cannot read. */
export function parseVariables(payload: Buffer): string[] {
  const text = payload.toString("utf8").trim();
  let names: unknown;
  if (text.startsWith("[") || text.startsWith("{")) {
    try {
      names = JSON.parse(text);
    } catch {
      throw badRequest("the request is not valid JSON");
    }
    if (!Array.isArray(names)) names = (names as { variables?: unknown }).variables;
    if (!Array.isArray(names)) throw badRequest('send a JSON array of variable names or {"variables": [...]}');
  } else {
    names = text.split(",");
  }
  const list = (names as unknown[]).map((name) => {
    if (typeof name !== "string") throw badRequest("variable names must be strings");
    return name.trim().toLowerCase();
  }).filter((name) => name !== "");
  if (list.length === 0) throw badRequest("name at least one variable");
  if (list.length > MAX_PULLED_VARIABLES) throw badRequest(`at most ${MAX_PULLED_VARIABLES} variables per request`);
  if (list.some((name) => name.length > 100)) throw badRequest("a variable name is longer than 100 characters");
  return [...new Set(list)];
}

function badRequest(message: string): IngestError {
  return new IngestError("INVALID_PULL", message, RC.PAYLOAD_FORMAT_INVALID);
}
