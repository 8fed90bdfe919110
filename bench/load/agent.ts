// Entry point of the load-generator child process. It owns every benchmark connection, so its
// single event loop (one core) is all the CPU the generator can take from the broker.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { LoadClient } from "./client.js";
import { Histogram } from "./histogram.js";
import { Pacer, Publisher } from "./publisher.js";
import { cpuSeconds, hostBusySeconds, rssKb } from "../proc.js";
import type {
  AgentRequest,
  Envelope,
  IdleOpenRequest,
  IdleOpenResult,
  IdleStatusResult,
  PhaseRequest,
  PhaseResult,
  Reply,
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
      const client = await LoadClient.open({ ...opts, clientId: `bench-${tag}-${g}s${i}` });
      await client.subscribe(filter);
      return client;
    }),
  );
  publishers = await Promise.all(
    req.publishTopics.map(async (topic, i) => {
      const client = await LoadClient.open({ ...opts, clientId: `bench-${tag}-${g}p${i}` });
      return new Publisher(client, topic, i);
    }),
  );
  return { connectMs: performance.now() - started };
}

interface Counters {
  at: number;
  cpu: number;
  brokerCpu: number | null;
  hostBusy: number | null;
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
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    cpu: (cpu.user + cpu.system) / 1e6,
    brokerCpu: cpuSeconds(brokerPid),
    hostBusy: hostBusySeconds(),
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
  const rssStart = rssKb(brokerPid);
  let rssMax = rssStart;
  const sampler = setInterval(() => {
    const rss = rssKb(brokerPid);
    if (rss !== null) rssMax = Math.max(rssMax ?? 0, rss);
  }, RSS_SAMPLE_MS);
  await sleep(req.measureMs);
  const after = counters(pacer);
  const rssEnd = rssKb(brokerPid);
  const latency = req.latency ? histogram.summary() : null;
  clearInterval(sampler);

  pacer?.stop();
  for (const p of publishers) p.stop();
  for (const s of subscribers) s.scanner.latency = null;
  const quiesceMs = await quiesce(req.quiesceTimeoutMs);

  const seconds = (after.at - before.at) / 1000;
  const brokerCpu =
    after.brokerCpu !== null && before.brokerCpu !== null ? (after.brokerCpu - before.brokerCpu) / seconds : null;
  const hostCpu =
    after.hostBusy !== null && before.hostBusy !== null ? (after.hostBusy - before.hostBusy) / seconds : null;
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
    generatorCpu: (after.cpu - before.cpu) / seconds,
    brokerCpu,
    hostCpu,
    brokerRssStartKb: rssStart,
    brokerRssEndKb: rssEnd,
    brokerRssMaxKb: rssEnd === null ? rssMax : Math.max(rssMax ?? 0, rssEnd),
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

function closeAll(): void {
  for (const p of publishers) p.close();
  for (const c of [...subscribers, ...idle]) c.destroy();
  publishers = [];
  subscribers = [];
  idle = [];
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
