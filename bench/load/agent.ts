// Entry point of the load-generator child process. It owns every benchmark connection, so its
// single event loop (one core) is all the CPU the generator can take from the broker.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { LoadClient } from "./client.js";
import { Histogram } from "./histogram.js";
import { IngestPublisher } from "./ingest.js";
import { Pacer, Publisher } from "./publisher.js";
import { qos1PublishTemplate } from "../mqtt/packets.js";
import { cpuSeconds, hostBusySeconds, rssKb } from "../proc.js";
import type {
  AgentRequest,
  Envelope,
  IngestPhaseRequest,
  IngestPhaseResult,
  IngestSetupRequest,
  IngestTotals,
  IdleOpenRequest,
  IdleOpenResult,
  IdleStatusResult,
  PhaseRequest,
  PhaseResult,
  Reply,
  Sample,
  SetupRequest,
  SetupResult,
} from "./protocol.js";

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Deliveries must pause this long before the pipeline counts as drained. */
const QUIET_MS = 300;
const RSS_SAMPLE_MS = 200;

let brokerPid = 0;
let publishers: Publisher[] = [];
let subscribers: LoadClient[] = [];
let idle: LoadClient[] = [];
let ingest: IngestPublisher[] = [];
let lost = 0;
let idleSerial = 0;
let generation = 0;
const histogram = new Histogram();
const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;

const onLost = (): void => {
  lost++;
};

async function setup(req: SetupRequest): Promise<SetupResult> {
  closeAll();
  brokerPid = req.brokerPid;
  const g = generation++;
  const started = performance.now();
  const opts = { host: req.host, port: req.port, timeoutMs: HANDSHAKE_TIMEOUT_MS, onLost };
  // Subscribers first: a message published before its subscription exists is simply not routed.
  subscribers = await Promise.all(
    req.subscribeFilters.map(async (filter, i) => {
      const creds = req.subscribeCredentials?.[i];
      const client = await LoadClient.open({ ...opts, port: req.subscribePort ?? req.port, clientId: `bench-${tag}-${g}s${i}`, connect: creds });
      await client.subscribe(filter);
      return client;
    }),
  );
  publishers = await Promise.all(
    req.publishTopics.map(async (topic, i) => {
      const creds = req.publishCredentials?.[i];
      const client = await LoadClient.open({ ...opts, clientId: `bench-${tag}-${g}p${i}`, connect: creds });
      return new Publisher(client, topic, i);
    }),
  );
  return { connectMs: performance.now() - started };
}

/** CPU clocks at one instant: this process, the broker, the whole machine. */
interface Usage {
  at: number;
  cpu: number;
  brokerCpu: number | null;
  hostBusy: number | null;
}

function usage(): Usage {
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    cpu: (cpu.user + cpu.system) / 1e6,
    brokerCpu: cpuSeconds(brokerPid),
    hostBusy: hostBusySeconds(),
  };
}

/** Shares of a core used between two readings. */
function cpuShares(before: Usage, after: Usage): { generatorCpu: number; brokerCpu: number | null; hostCpu: number | null } {
  const seconds = (after.at - before.at) / 1000;
  return {
    generatorCpu: (after.cpu - before.cpu) / seconds,
    brokerCpu:
      after.brokerCpu !== null && before.brokerCpu !== null ? (after.brokerCpu - before.brokerCpu) / seconds : null,
    hostCpu: after.hostBusy !== null && before.hostBusy !== null ? (after.hostBusy - before.hostBusy) / seconds : null,
  };
}

/** Broker RSS at the start and end of a window, and the highest value sampled in between. */
class RssSampler {
  private readonly start = rssKb(brokerPid);
  private max = this.start;
  private readonly timer = setInterval(() => {
    const rss = rssKb(brokerPid);
    if (rss !== null) this.max = Math.max(this.max ?? 0, rss);
  }, RSS_SAMPLE_MS);

  stop(): { brokerRssStartKb: number | null; brokerRssEndKb: number | null; brokerRssMaxKb: number | null } {
    const end = rssKb(brokerPid);
    clearInterval(this.timer);
    return {
      brokerRssStartKb: this.start,
      brokerRssEndKb: end,
      brokerRssMaxKb: end === null ? this.max : Math.max(this.max ?? 0, end),
    };
  }
}

interface Counters extends Usage {
  delivered: number;
  sent: number;
  shed: number;
  offered: number;
}

function delivered(): number {
  let total = 0;
  for (const s of subscribers) total += s.scanner.publishes;
  return total;
}

function counters(pacer: Pacer | null): Counters {
  let sent = 0;
  let shed = 0;
  for (const p of publishers) {
    sent += p.sent;
    shed += p.shed;
  }
  return {
    ...usage(),
    delivered: delivered(),
    sent,
    shed,
    offered: pacer?.offered ?? sent,
  };
}

/** Waits until no message has arrived for QUIET_MS: how long the backlog took to clear. */
async function quiesce(timeoutMs: number): Promise<number | null> {
  if (timeoutMs <= 0) return null;
  const started = performance.now();
  let last = delivered();
  let lastChange = started;
  for (;;) {
    await sleep(50);
    const now = performance.now();
    const current = delivered();
    if (current !== last) {
      last = current;
      lastChange = now;
    } else if (now - lastChange >= QUIET_MS) {
      return lastChange - started;
    }
    if (now - started > timeoutMs) return null;
  }
}

async function phase(req: PhaseRequest): Promise<PhaseResult> {
  const pacer = req.mode === "paced" ? new Pacer(publishers, req.rate, () => performance.now()) : null;
  const phaseStart = performance.now();
  for (const s of subscribers) {
    s.scanner.latency = req.latency ? histogram : null;
    s.scanner.minStampMs = phaseStart;
  }
  const lostBefore = lost;
  if (pacer !== null) pacer.start();
  else for (const p of publishers) p.startBlast();

  await sleep(req.warmupMs);
  histogram.reset();
  const before = counters(pacer);
  const rss = new RssSampler();
  await sleep(req.measureMs);
  const after = counters(pacer);
  const rssResult = rss.stop();
  const latency = req.latency ? histogram.summary() : null;

  pacer?.stop();
  for (const p of publishers) p.stop();
  for (const s of subscribers) s.scanner.latency = null;
  const quiesceMs = await quiesce(req.quiesceTimeoutMs);

  const seconds = (after.at - before.at) / 1000;
  return {
    windowMs: after.at - before.at,
    offered: after.offered - before.offered,
    sent: after.sent - before.sent,
    shed: after.shed - before.shed,
    delivered: after.delivered - before.delivered,
    deliveredPerS: (after.delivered - before.delivered) / seconds,
    sentPerS: (after.sent - before.sent) / seconds,
    latency,
    stale: subscribers.reduce((sum, s) => sum + s.scanner.stale, 0),
    ...cpuShares(before, after),
    ...rssResult,
    lostConnections: lost - lostBefore,
    quiesceMs,
  };
}

async function idleOpen(req: IdleOpenRequest): Promise<IdleOpenResult> {
  const started = performance.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < req.count) {
      next++;
      try {
        idle.push(
          await LoadClient.open({
            host: req.host,
            port: req.port,
            clientId: `bench-${tag}-i${idleSerial++}`,
            timeoutMs: HANDSHAKE_TIMEOUT_MS,
          }),
        );
        opened++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, worker));
  return { opened, totalOpen: idle.length, failed, firstError, elapsedMs: performance.now() - started };
}

function idleStatus(): IdleStatusResult {
  return { open: idle.filter((c) => !c.closed).length };
}

async function ingestSetup(req: IngestSetupRequest): Promise<SetupResult> {
  closeAll();
  brokerPid = req.brokerPid;
  const g = generation++;
  const started = performance.now();
  const payload = Buffer.from(req.payload, "utf8");
  // Subscribers first: a message published before its subscription exists is not routed.
  subscribers = await Promise.all(
    (req.subscribers ?? []).map(async (s, i) => {
      const client = await LoadClient.open({
        host: req.host,
        port: req.subscribePort ?? req.port,
        timeoutMs: HANDSHAKE_TIMEOUT_MS,
        onLost,
        clientId: `bench-${tag}-${g}s${i}`,
        connect: { username: s.username, password: s.password },
      });
      await client.subscribe(s.filter);
      return client;
    }),
  );
  // Connections open 50 at a time: a burst of 100+ CONNECTs each looking up a token is not
  // what this scenario measures.
  const opened: IngestPublisher[] = new Array<IngestPublisher>(req.devices.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < req.devices.length) {
      const i = next++;
      const device = req.devices[i]!;
      const client = await LoadClient.open({
        host: req.host,
        port: req.port,
        timeoutMs: HANDSHAKE_TIMEOUT_MS,
        onLost,
        clientId: `bench-${tag}-${g}d${i}`,
        connect: { protocolVersion: 5, username: device.username, password: device.password },
      });
      opened[i] = new IngestPublisher(client, qos1PublishTemplate(device.topic, payload), req.window);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(50, req.devices.length) }, worker));
  } finally {
    ingest = opened.filter((p) => p !== undefined);
  }
  return { connectMs: performance.now() - started };
}

function inflight(): number {
  let total = 0;
  for (const p of ingest) total += p.inflight;
  return total;
}

/** Waits until every message sent has its PUBACK; the time that took, or null at the deadline. */
async function drain(timeoutMs: number): Promise<number | null> {
  const started = performance.now();
  for (;;) {
    if (inflight() === 0) return performance.now() - started;
    if (ingest.every((p) => p.closed || p.inflight === 0)) return null; // a closed one never answers
    if (performance.now() - started > timeoutMs) return null;
    await sleep(10);
  }
}

interface IngestCounters extends Usage {
  delivered: number;
  sent: number;
  shed: number;
  acked: number;
  failed: number;
  offered: number;
}

function ingestCounters(pacer: Pacer | null): IngestCounters {
  let sent = 0;
  let shed = 0;
  let acked = 0;
  let failed = 0;
  for (const p of ingest) {
    sent += p.sent;
    shed += p.shed;
    acked += p.acked;
    failed += p.failed;
  }
  return { ...usage(), delivered: delivered(), sent, shed, acked, failed, offered: pacer?.offered ?? sent };
}

async function ingestPhase(req: IngestPhaseRequest): Promise<IngestPhaseResult> {
  if (ingest.length === 0) throw new Error("ingest-phase before ingest-setup");
  // Paced devices publish one message at a time, as real ones do; no batching across a tick.
  const pacer = req.mode === "paced" ? new Pacer(ingest, req.rate, () => performance.now(), 1) : null;
  const lostBefore = lost;
  if (pacer !== null) pacer.start();
  else for (const p of ingest) p.startBlast();

  await sleep(req.warmupMs);
  const before = ingestCounters(pacer);
  if (req.latency) {
    histogram.reset();
    for (const p of ingest) {
      p.minStampMs = before.at;
      p.maxStampMs = Infinity;
      p.latency = histogram;
    }
  }
  const rss = new RssSampler();
  await sleep(req.measureMs);
  const after = ingestCounters(pacer);
  // Messages sent after the window are not samples; those sent within it still are when their
  // PUBACK arrives later, so recording stays on until the drain is over.
  for (const p of ingest) p.maxStampMs = after.at;
  const rssResult = rss.stop();

  pacer?.stop();
  for (const p of ingest) p.stop();
  const drainMs = await drain(req.drainTimeoutMs);
  const latency = req.latency ? histogram.summary() : null;
  for (const p of ingest) p.latency = null;

  const seconds = (after.at - before.at) / 1000;
  return {
    windowMs: after.at - before.at,
    offered: after.offered - before.offered,
    sent: after.sent - before.sent,
    shed: after.shed - before.shed,
    acked: after.acked - before.acked,
    delivered: after.delivered - before.delivered,
    deliveredPerS: (after.delivered - before.delivered) / seconds,
    failed: after.failed - before.failed,
    ackedPerS: (after.acked - before.acked) / seconds,
    sentPerS: (after.sent - before.sent) / seconds,
    latency,
    ...cpuShares(before, after),
    ...rssResult,
    lostConnections: lost - lostBefore,
    drainMs,
    unacked: inflight(),
  };
}

function ingestTotals(): IngestTotals {
  const failures: Record<string, number> = {};
  for (const p of ingest) {
    for (const [rc, count] of p.failures) {
      const key = `0x${rc.toString(16).padStart(2, "0")}`;
      failures[key] = (failures[key] ?? 0) + count;
    }
  }
  return {
    sent: ingest.map((p) => p.sent),
    acked: ingest.map((p) => p.acked),
    failed: ingest.map((p) => p.failed),
    failures,
    inflight: inflight(),
    unexpected: ingest.reduce((sum, p) => sum + p.unexpected, 0),
    closed: ingest.filter((p) => p.closed).length,
    disconnectReasons: ingest
      .filter((p) => p.disconnectReason !== null)
      .map((p) => `0x${p.disconnectReason!.toString(16).padStart(2, "0")}`),
  };
}

function sample(): Sample {
  const c = counters(null);
  return {
    at: c.at,
    delivered: c.delivered,
    sent: c.sent,
    cpu: c.cpu,
    brokerCpu: c.brokerCpu,
    hostBusy: c.hostBusy,
    lostConnections: lost,
  };
}

function closeAll(): void {
  for (const p of publishers) p.close();
  for (const p of ingest) p.close();
  for (const c of [...subscribers, ...idle]) c.destroy();
  publishers = [];
  subscribers = [];
  idle = [];
  ingest = [];
}

async function handle(req: AgentRequest): Promise<unknown> {
  switch (req.type) {
    case "setup":
      return setup(req);
    case "phase":
      return phase(req);
    case "idle-open":
      return idleOpen(req);
    case "idle-status":
      return idleStatus();
    case "close":
      closeAll();
      return null;
    case "ingest-setup":
      return ingestSetup(req);
    case "ingest-phase":
      return ingestPhase(req);
    case "ingest-totals":
      return ingestTotals();
    case "blast":
      for (const p of publishers) {
        if (req.on) p.startBlast();
        else p.stop();
      }
      return null;
    case "sample":
      return sample();
  }
}

process.on("message", (raw: unknown) => {
  const msg = raw as Envelope<AgentRequest>; // IPC carries only what bench/load/remote.ts sends
  handle(msg.body).then(
    (result) => process.send?.({ id: msg.id, ok: true, result } satisfies Reply),
    (err: unknown) =>
      process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});

// Losing the orchestrator (crash, SIGKILL) must not leave thousands of connections open.
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
