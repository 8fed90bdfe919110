// MQTT relay (Sluice only): QoS 1 publishers on a local Mosquitto (the "external" broker), a
// Sluice relay subscribed there, an insert action storing what it relays. The score is records
// committed per second through the relay (read back from the buckets), at saturation: the
// publishers keep Mosquitto's queue for the relay full, so the relay is the bottleneck.
// The relay acknowledges each QoS 1 message to Mosquitto only once it is stored, and MQTT.js
// hands it one message at a time, so this measures the relay's per-message round trip.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import mqtt, { type MqttClient } from "mqtt";
import type { RelayResult } from "../results.js";
import { mapLimit, SluiceApi, type CreatedDevice } from "../sluice_api.js";
import { startTarget, type RunningTarget } from "../targets.js";
import type { Scenario, ScenarioContext } from "./context.js";

const TAG_KEY = "bench";
const TAG_VALUE = "relay";
const TOPIC_PREFIX = "bench/relay";
const PAYLOAD = JSON.stringify([{ variable: "temperature", value: 21.5, unit: "C" }, { variable: "humidity", value: 40 }]);
const RECORDS_PER_MESSAGE = 2;
/** QoS 1 messages each publisher keeps awaiting Mosquitto's PUBACK. */
const PUBLISH_WINDOW = 32;
const HTTP_CONCURRENCY = 8;
const CONNECT_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 30_000;

const rateText = (n: number): string => Math.round(n).toLocaleString("en-US");

interface RelayStatus {
  connected: boolean;
  last_error: string | null;
  counters: Record<string, number>;
}

/** One MQTT.js publisher per device on Mosquitto, each with a window of QoS 1 messages in flight. */
class Publishers {
  private running = false;
  published = 0;
  private readonly clients: MqttClient[] = [];

  async connect(host: string, port: number, devices: CreatedDevice[]): Promise<void> {
    await Promise.all(
      devices.map(
        (d) =>
          new Promise<void>((resolve, reject) => {
            const client = mqtt.connect({ host, port, clientId: `bench-relay-pub-${d.id}`, reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS });
            client.once("connect", () => resolve());
            client.once("error", reject);
            this.clients.push(client);
          }),
      ),
    );
  }

  start(devices: CreatedDevice[]): void {
    this.running = true;
    this.clients.forEach((client, i) => {
      const topic = `${TOPIC_PREFIX}/${devices[i]!.id}`;
      const next = (): void => {
        if (!this.running) return;
        client.publish(topic, PAYLOAD, { qos: 1 }, (err) => {
          if (err) return;
          this.published++;
          next();
        });
      };
      for (let k = 0; k < PUBLISH_WINDOW; k++) next();
    });
  }

  stop(): void {
    this.running = false;
  }

  async close(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients.map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))));
  }
}

async function storedRecords(api: SluiceApi, devices: CreatedDevice[]): Promise<number> {
  return (await mapLimit(devices, HTTP_CONCURRENCY, (d) => api.dataAmount(d.id))).reduce((a, b) => a + b, 0);
}

async function run(target: RunningTarget, ctx: ScenarioContext, result: RelayResult): Promise<void> {
  if (target.api === undefined) throw new Error("this Sluice build wrote no HTTP port or admin token; cannot configure it");
  const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
  const { config } = ctx;
  const external = await startTarget({ slot: "relay-external", kind: "mosquitto" }, { host: config.host, mosquittoNoDelay: config.mosquittoNoDelay });
  ctx.log(`external mosquitto pid ${external.pid} on ${external.host}:${external.port}`);
  const publishers = new Publishers();
  try {
    const setupStarted = performance.now();
    const names = Array.from({ length: config.relayDevices }, (_, i) => `bench-relay-${i}`);
    const devices = await mapLimit(names, HTTP_CONCURRENCY, (name) => api.createDevice({ name, tags: [{ key: TAG_KEY, value: TAG_VALUE }] }));
    await api.createAction({
      name: "bench: store relayed data",
      type: "mqtt_topic",
      trigger: [{ tag_key: TAG_KEY, tag_value: TAG_VALUE, topic: `${TOPIC_PREFIX}/+` }],
      action: { type: "insert_bucket" },
    });
    const { relay } = await api.request<{ relay: string }>("POST", "/relay", {
      name: "bench",
      host: external.host,
      port: external.port,
      clean: true, // Mosquitto runs without persistence here; nothing is meant to outlive the run
      subscriptions: [{ topic: `${TOPIC_PREFIX}/+`, qos: 1 }],
      mapping: { source: "topic", index: 2, match: "id" },
      forward_to_broker: false,
    });
    const status = () => api.request<RelayStatus>("GET", `/relay/${relay}/status`);
    const until = Date.now() + CONNECT_TIMEOUT_MS;
    while (!(await status()).connected) {
      if (Date.now() > until) throw new Error(`the relay did not connect: ${(await status()).last_error ?? "no error"}`);
      await sleep(50);
    }
    await publishers.connect(external.host, external.port, devices);
    result.setupMs = performance.now() - setupStarted;
    ctx.log(`${devices.length} devices, relay connected, ${devices.length} publishers on mosquitto, setup ${(result.setupMs / 1000).toFixed(1)} s`);

    publishers.start(devices);
    await sleep(config.warmupS * 1000);
    const before = { at: performance.now(), records: await storedRecords(api, devices), counters: (await status()).counters };
    await sleep(config.durationS * 1000);
    const after = { at: performance.now(), records: await storedRecords(api, devices), counters: (await status()).counters };
    publishers.stop();
    const seconds = (after.at - before.at) / 1000;
    result.recordsPerS = (after.records - before.records) / seconds;
    result.messagesPerS = ((after.counters.messages_in ?? 0) - (before.counters.messages_in ?? 0)) / seconds;
    ctx.log(`relay: ${rateText(result.messagesPerS)} msg/s in, ${rateText(result.recordsPerS)} records/s committed`);

    // Drain: once the relay takes nothing more, what it took must all be stored.
    let last = -1;
    const drainUntil = Date.now() + DRAIN_TIMEOUT_MS;
    let counters = (await status()).counters;
    while (counters.messages_in !== last && Date.now() < drainUntil) {
      last = counters.messages_in ?? 0;
      await sleep(500);
      counters = (await status()).counters;
    }
    const stored = await storedRecords(api, devices);
    result.check = {
      published: publishers.published,
      relayed: counters.messages_in ?? 0,
      failed: (counters.failed ?? 0) + (counters.unmapped ?? 0),
      storedRecords: stored,
      expectedRecords: ((counters.messages_in ?? 0) - (counters.failed ?? 0) - (counters.unmapped ?? 0)) * RECORDS_PER_MESSAGE,
    };
    const c = result.check;
    ctx.log(
      `check: ${c.published.toLocaleString("en-US")} published to mosquitto, ${c.relayed.toLocaleString("en-US")} relayed ` +
        `(${c.failed} failed/unmapped) = ${c.expectedRecords.toLocaleString("en-US")} records; buckets hold ${c.storedRecords.toLocaleString("en-US")}` +
        ` (the rest was dropped by mosquitto's queue for the relay, max_queued_messages)`,
    );
  } finally {
    await publishers.close();
    await external.stop();
  }
}

export const relayScenario: Scenario<RelayResult> = {
  name: "relay",
  title: "relay: QoS 1 publishers on Mosquitto → Sluice relay → insert action → SQLite",
  only: { kinds: ["sluice"], reason: "the relay is Sluice's; Mosquitto is its external broker here" },
  initial: (config) => ({ kind: "relay", devices: config.relayDevices, setupMs: 0 }),
  run,
};
