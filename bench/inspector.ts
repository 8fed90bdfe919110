// `npm run build && node dist/bench/inspector.js`: how much the live inspector costs the hot
// path, in events per second on one core, for the cases callers meet. Not part of `npm run
// bench` (which compares whole brokers); this one measures one class in-process.
import { performance } from "node:perf_hooks";
import { Inspector } from "../src/inspector/inspector.js";

const DEVICES = 1000;
const deviceIds = Array.from({ length: DEVICES }, (_, i) => `device-${i}`);
const payload = Buffer.from(JSON.stringify([{ variable: "temperature", value: 21.5, unit: "C" }, { variable: "humidity", value: 40 }]));
const bigPayload = Buffer.alloc(64 * 1024, 0x41);

interface Case {
  name: string;
  run(inspector: Inspector, i: number): void;
}

/** A device id among the first `n`, round-robin: every event goes to another ring. */
const among = (n: number, i: number): string => deviceIds[i % n]!;

const cases: Case[] = [
  {
    name: "off: wants() only, 1000 devices",
    run(inspector, i) {
      const id = among(1000, i);
      if (inspector.wants(id)) inspector.record(id, "message_in", "never", { payload });
    },
  },
  {
    name: "on, no detail, 1000 devices",
    run(inspector, i) {
      const id = among(1000, i);
      if (inspector.wants(id)) inspector.record(id, "connect", "client c1 connected");
    },
  },
  {
    name: "on, MQTT detail (92 B payload), 100 devices",
    run(inspector, i) {
      const id = among(100, i);
      if (inspector.wants(id)) inspector.record(id, "message_in", "PUBLISH data/up qos 1 (92 B)", { topic: "data/up", qos: 1, retain: false, payload });
    },
  },
  {
    name: "on, MQTT detail, 1000 devices (at byte cap)",
    run(inspector, i) {
      const id = among(1000, i);
      if (inspector.wants(id)) inspector.record(id, "message_in", "PUBLISH data/up qos 1 (92 B)", { topic: "data/up", qos: 1, retain: false, payload });
    },
  },
  {
    name: "on, 64 kB payload (previewed), 100 devices",
    run(inspector, i) {
      const id = among(100, i);
      if (inspector.wants(id)) inspector.record(id, "message_in", "PUBLISH data/up qos 0 (64 kB)", { topic: "data/up", qos: 0, payload: bigPayload });
    },
  },
  {
    name: "on, MQTT detail, 1 device with a listener",
    run(inspector) {
      if (inspector.wants("watched")) inspector.record("watched", "message_in", "PUBLISH data/up qos 1", { topic: "data/up", qos: 1, payload });
    },
  },
];

async function measure(c: Case, setup: (inspector: Inspector) => Promise<void>): Promise<number> {
  const inspector = new Inspector();
  await setup(inspector);
  // Warm-up, and fills every ring: the steady state, where each event also drops the oldest.
  for (let i = 0; i < 600_000; i++) c.run(inspector, i);
  const n = 1_000_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) c.run(inspector, i);
  const seconds = (performance.now() - start) / 1000;
  return n / seconds;
}

for (const c of cases) {
  const rate = await measure(c, async (inspector) => {
    if (c.name.startsWith("off")) for (const id of deviceIds) await inspector.setEnabled(id, false);
    if (c.name.includes("listener")) inspector.subscribe("watched", () => {});
  });
  console.log(`${c.name.padEnd(46)} ${Math.round(rate).toLocaleString("en-US").padStart(13)} events/s  (${(1e9 / rate).toFixed(0)} ns each)`);
}
