// The abuses of issue 10's audit, each run beside the abuse scenario's well-behaved fan-in (see
// scenarios/abuse.ts). They run in the orchestrator process, not in the load generator, so the
// generator's timings are not disturbed by the abuser's own work; they connect from other
// loopback addresses (127.0.0.2, 127.0.0.3) so per-address bounds they trip (failed-auth delay,
// connections in progress) cannot land on the baseline's address. Each abuse sets itself up,
// keeps going until stopped, and reports what it did and what the broker answered. The scenario
// stops the broker after each abuse, so what an abuse leaves behind needs no undoing.
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import mqttPacket, { type Packet } from "mqtt-packet";
import { mapLimit, SluiceApi } from "./sluice_api.js";

const MiB = 1024 * 1024;
/** Where abusers connect from; the wrong-password flood has an address of its own. */
const ABUSER_ADDRESS = "127.0.0.2";
const FLOOD_ADDRESS = "127.0.0.3";
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AbuseEnv {
  host: string;
  port: number;
  api: SluiceApi;
  httpPort: number;
  /** A device token of the baseline's account (same namespace as the fan-in). */
  baselineToken: string;
  log: (line: string) => void;
}

export interface RunningAbuse {
  /** Stops the abuse and undoes what it left in the broker; resolves once that is done. */
  stop(): Promise<void>;
  /** What the abuse did and what the broker answered, for the report. */
  note(): string;
}

export interface Abuse {
  name: string;
  /** The row of issue 10's table this reproduces. */
  title: string;
  start(env: AbuseEnv): Promise<RunningAbuse>;
}

// ---- a raw MQTT connection (mqtt-packet), enough to misbehave precisely ----

class Raw {
  readonly packets: Packet[] = [];
  private waiters: { cmd: string; resolve: (p: Packet) => void; reject: (e: Error) => void }[] = [];
  closed = false;
  private readonly parser;

  private constructor(
    readonly socket: Socket,
    readonly version: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on("packet", (p: Packet) => {
      this.onPacket?.(p);
      const i = this.waiters.findIndex((w) => w.cmd === p.cmd);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(p);
      else if (this.keep) this.packets.push(p);
    });
    this.parser.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => this.parser.parse(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error("closed"));
    });
  }

  /** Unclaimed packets are dropped unless `keep` (a stalled reader keeps nothing anyway). */
  keep = false;
  /** Sees every packet, claimed or not. */
  onPacket: ((p: Packet) => void) | null = null;

  static open(host: string, port: number, version: 4 | 5, localAddress = ABUSER_ADDRESS): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, localAddress, noDelay: true }, () => resolve(new Raw(socket, version)));
      socket.once("error", reject);
    });
  }

  /** CONNECT and wait for CONNACK; throws on a refusal. */
  static async connected(env: AbuseEnv, opts: { clientId: string; password: string; clean?: boolean; version?: 4 | 5 }): Promise<Raw> {
    const raw = await Raw.open(env.host, env.port, opts.version ?? 5);
    raw.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: raw.version, clientId: opts.clientId, clean: opts.clean ?? true, keepalive: 600, username: "Token", password: Buffer.from(opts.password) });
    const connack = (await raw.next("connack")) as { reasonCode?: number; returnCode?: number };
    const code = connack.reasonCode ?? connack.returnCode ?? 0;
    if (code !== 0) {
      raw.destroy();
      throw new Error(`CONNACK ${code}`);
    }
    return raw;
  }

  send(packet: Packet): boolean {
    return this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  next(cmd: string, timeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        cmd,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Runs `body` in a loop until stopped; counts rounds and keeps the first error. */
class Loop {
  stopped = false;
  rounds = 0;
  firstError: string | null = null;
  private done: Promise<void>[] = [];

  run(workers: number, body: (worker: number) => Promise<void>): void {
    for (let w = 0; w < workers; w++) {
      this.done.push(
        (async () => {
          while (!this.stopped) {
            try {
              await body(w);
              this.rounds++;
            } catch (err) {
              this.firstError ??= err instanceof Error ? err.message : String(err);
              await sleep(50);
            }
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.done);
  }

  errorNote(): string {
    return this.firstError === null ? "" : `; first error: ${this.firstError}`;
  }
}

/** An account of its own (plan unlimited) with one device. */
async function otherAccount(env: AbuseEnv, name: string, device: Record<string, unknown> = {}): Promise<{ accountToken: string; deviceId: string; deviceToken: string }> {
  const { token: accountToken } = await env.api.request<{ token: string }>("POST", "/admin/account", { name: `abuse ${name}`, plan: "unlimited" });
  const created = await env.api.request<{ device_id: string; token: string }>("POST", "/device", { name: `abuse-${name}`, ...device }, accountToken);
  return { accountToken, deviceId: created.device_id, deviceToken: created.token };
}

const rate = (n: number, ms: number): string => `${Math.round((n * 1000) / Math.max(ms, 1)).toLocaleString("en-US")}/s`;
const counts = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k} × ${v}`).join(", ");
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

/** Publishes QoS 0 `topic` at about `perSecond` while running (10 ms ticks). */
function paced(raw: Raw, topic: string, perSecond: number, payload: Buffer): { stop: () => void; sent: () => number } {
  let sent = 0;
  const perTick = Math.max(1, Math.round(perSecond / 100));
  const packet = mqttPacket.generate({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false }, { protocolVersion: raw.version });
  const batch = Buffer.concat(Array.from({ length: perTick }, () => packet));
  const timer = setInterval(() => {
    if (raw.closed || raw.socket.writableLength > MiB) return;
    raw.socket.write(batch);
    sent += perTick;
  }, 10);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

// ---- the ten rows ----

const SESSIONS = 2000;
const offlineSessions: Abuse = {
  name: "offline-sessions",
  title: `${SESSIONS.toLocaleString("en-US")} offline persistent sessions on \`#\` (QoS 1) in the baseline's own account`,
  async start(env) {
    const started = performance.now();
    const ids = Array.from({ length: SESSIONS }, (_, i) => `abuse-offline-${i}`);
    const codes = new Map<string, number>();
    await mapLimit(ids, 50, async (clientId) => {
      try {
        const raw = await Raw.connected(env, { clientId, password: env.baselineToken, clean: false, version: 4 });
        raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "#", qos: 1 }] });
        const suback = (await raw.next("suback")) as { granted: number[] };
        bump(codes, `SUBACK ${suback.granted[0]}`);
        raw.send({ cmd: "disconnect" });
        raw.socket.end();
      } catch (err) {
        bump(codes, err instanceof Error ? err.message : String(err));
      }
    });
    const setupMs = performance.now() - started;
    return {
      note: () => `${SESSIONS} sessions made in ${(setupMs / 1000).toFixed(1)} s (${counts(codes)})`,
      // The broker is stopped after each abuse: the sessions go with it.
      stop: async () => undefined,
    };
  },
};

const wrongPassword: Abuse = {
  name: "wrong-password",
  title: "CONNECT with a wrong password, then 32 × 1 MiB PUBLISH, on 20 sockets (reopened as they close)",
  async start(env) {
    const connectPacket = mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "", clean: true, keepalive: 60, username: "Token", password: Buffer.from("wrong-password") }, { protocolVersion: 5 });
    const publish = mqttPacket.generate({ cmd: "publish", topic: "flood", payload: Buffer.alloc(MiB - 64, 0x61), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
    const loop = new Loop();
    const answers = new Map<string, number>();
    const started = performance.now();
    loop.run(20, async () => {
      const raw = await Raw.open(env.host, env.port, 5, FLOOD_ADDRESS);
      raw.socket.write(connectPacket);
      // The same buffer 32 times: the abuser holds no copies.
      for (let i = 0; i < 32; i++) raw.socket.write(publish);
      try {
        const connack = (await raw.next("connack", 15_000)) as { reasonCode?: number };
        bump(answers, `CONNACK 0x${(connack.reasonCode ?? 0).toString(16)}`);
      } catch {
        bump(answers, "closed without CONNACK");
      }
      raw.destroy();
    });
    return {
      note: () => `${loop.rounds} sockets in ${((performance.now() - started) / 1000).toFixed(1)} s (${counts(answers)})${loop.errorNote()}`,
      stop: () => loop.stop(),
    };
  },
};

const slowSubscriber: Abuse = {
  name: "slow-subscriber",
  title: "one QoS 1 subscriber that stops reading while 1 MiB messages are published to it (another account)",
  async start(env) {
    const { deviceToken } = await otherAccount(env, "slow-subscriber");
    const sub = await Raw.connected(env, { clientId: "abuse-stalled", password: deviceToken });
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "big/#", qos: 1 }] });
    await sub.next("suback");
    sub.socket.pause();
    const pub = await Raw.connected(env, { clientId: "abuse-big-pub", password: deviceToken });
    const payload = Buffer.alloc(MiB - 1024, 0x62);
    const loop = new Loop();
    const answers = new Map<string, number>();
    let id = 0;
    const started = performance.now();
    // Four in flight at a time, each waiting for its PUBACK.
    loop.run(4, async () => {
      const messageId = (id++ % 60_000) + 1;
      const ack = pub.next("puback", 15_000);
      pub.send({ cmd: "publish", topic: "big/x", payload, qos: 1, messageId, retain: false, dup: false });
      const p = (await ack) as { reasonCode?: number };
      bump(answers, `PUBACK 0x${(p.reasonCode ?? 0).toString(16)}`);
    });
    return {
      note: () => `${loop.rounds} × 1 MiB published at ${rate(loop.rounds, performance.now() - started)} (${counts(answers)})${loop.errorNote()}`,
      async stop() {
        await loop.stop();
        pub.destroy();
        sub.destroy();
      },
    };
  },
};

/** Busy ~1.8 ms per message, as the audit's parser did. */
const SLOW_PARSER = `const until = Date.now() + 2; let n = 0; while (Date.now() < until) n++;`;
const slowParser: Abuse = {
  name: "slow-parser",
  title: "a parser that runs ~2 ms per message, 512 messages kept queued (another account, insert action)",
  async start(env) {
    const { accountToken, deviceId, deviceToken } = await otherAccount(env, "slow-parser", { parse_function: SLOW_PARSER });
    const actionId = await env.api.request<{ action: string }>("POST", "/action", {
      name: "abuse: store parsed",
      type: "mqtt_topic",
      trigger: [{ device: deviceId, topic: "abuse/parse/#" }],
      action: { type: "insert_bucket" },
    }, accountToken);
    const pub = await Raw.connected(env, { clientId: "abuse-parse-pub", password: deviceToken });
    const payload = Buffer.from(JSON.stringify([{ variable: "v", value: 1 }]));
    const loop = new Loop();
    const answers = new Map<string, number>();
    let id = 0;
    const started = performance.now();
    // 512 workers, each with one QoS 1 message awaiting PUBACK: 512 queued at all times.
    loop.run(512, async () => {
      const messageId = (id++ % 60_000) + 1;
      const ack = pub.next("puback", 30_000);
      pub.send({ cmd: "publish", topic: "abuse/parse/x", payload, qos: 1, messageId, retain: false, dup: false });
      const p = (await ack) as { reasonCode?: number };
      bump(answers, `PUBACK 0x${(p.reasonCode ?? 0).toString(16)}`);
    });
    return {
      note: () => `${loop.rounds} messages parsed at ${rate(loop.rounds, performance.now() - started)} (${counts(answers)})${loop.errorNote()}`,
      async stop() {
        await loop.stop();
        pub.destroy();
        await env.api.request("DELETE", `/action/${actionId.action}`, undefined, accountToken);
      },
    };
  },
};

const inspectorStreams: Abuse = {
  name: "inspector-streams",
  title: "inspector streams on one token, as many as the cap allows (+1), on a device publishing 500 msg/s (another account)",
  async start(env) {
    const { accountToken, deviceId, deviceToken } = await otherAccount(env, "inspector");
    const controller = new AbortController();
    const statuses = new Map<string, number>();
    const url = `http://${env.host}:${env.httpPort}/device/${deviceId}/inspector/stream?backlog=0&kinds=message_in`;
    let events = 0;
    // Open one at a time until refused (the cap), at most 1 000 (the audit's figure).
    for (let i = 0; i < 1000; i++) {
      const response = await fetch(url, { headers: { token: accountToken }, signal: controller.signal });
      bump(statuses, `HTTP ${response.status}`);
      if (response.status !== 200) {
        await response.text();
        break;
      }
      void (async () => {
        try {
          for await (const chunk of response.body!) events += (chunk as Uint8Array).length > 0 ? 1 : 0;
        } catch {
          // aborted
        }
      })();
    }
    const pub = await Raw.connected(env, { clientId: "abuse-inspected", password: deviceToken });
    const publishing = paced(pub, "abuse/inspected", 500, Buffer.from(JSON.stringify([{ variable: "v", value: 1 }])));
    const started = performance.now();
    return {
      note: () => `${counts(statuses)}; ${publishing.sent()} messages at ${rate(publishing.sent(), performance.now() - started)}, ${events} stream reads`,
      async stop() {
        publishing.stop();
        pub.destroy();
        controller.abort();
      },
    };
  },
};

const deepTopics: Abuse = {
  name: "deep-retained",
  title: "a retained message on a 12 000-level topic (and one at 128), `#` subscribed over and over (another account)",
  async start(env) {
    const { deviceToken } = await otherAccount(env, "deep");
    const raw = await Raw.connected(env, { clientId: "abuse-deep", password: deviceToken });
    const deep = (n: number): string => Array(n).fill("a").join("/");
    const answers = new Map<string, number>();
    let messageId = 1;
    for (const levels of [12_000, 128]) {
      raw.send({ cmd: "publish", topic: deep(levels), payload: Buffer.from("deep"), qos: 1, messageId: messageId++, retain: true, dup: false });
      const ack = (await raw.next("puback")) as { reasonCode?: number };
      bump(answers, `${levels} levels: PUBACK 0x${(ack.reasonCode ?? 0).toString(16)}`);
    }
    const loop = new Loop();
    const subacks = new Map<string, number>();
    const started = performance.now();
    loop.run(1, async () => {
      const id = (messageId++ % 60_000) + 1;
      raw.send({ cmd: "subscribe", messageId: id, subscriptions: [{ topic: "#", qos: 0 }] });
      const suback = (await raw.next("suback")) as { granted: number[] };
      bump(subacks, `SUBACK 0x${(suback.granted[0] ?? 0).toString(16)}`);
      raw.send({ cmd: "unsubscribe", messageId: id, unsubscriptions: ["#"] });
      await raw.next("unsuback");
    });
    return {
      note: () => `${counts(answers)}; ${loop.rounds} \`#\` subscribes at ${rate(loop.rounds, performance.now() - started)} (${counts(subacks)})${loop.errorNote()}`,
      async stop() {
        await loop.stop();
        // An empty retained payload removes the one at 128 levels.
        raw.send({ cmd: "publish", topic: deep(128), payload: Buffer.alloc(0), qos: 1, messageId: 1, retain: true, dup: false });
        await raw.next("puback").catch(() => undefined);
        raw.destroy();
      },
    };
  },
};

const TOPIC_BYTES = 60 * 1024;
const bigTopics: Abuse = {
  name: "big-topics",
  title: "distinct 60 KiB topics published without end, ~500 msg/s (another account)",
  async start(env) {
    const { deviceToken } = await otherAccount(env, "big-topics");
    const raw = await Raw.connected(env, { clientId: "abuse-topics", password: deviceToken });
    // One template; a 7-digit counter at the start of the topic is patched for each message.
    const template = mqttPacket.generate({ cmd: "publish", topic: `0000000/${"x".repeat(TOPIC_BYTES - 8)}`, payload: Buffer.from("v"), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
    const topicAt = template.indexOf("0000000");
    let sent = 0;
    const started = performance.now();
    const timer = setInterval(() => {
      if (raw.closed || raw.socket.writableLength > 4 * MiB) return;
      for (let i = 0; i < 5; i++) {
        const packet = Buffer.from(template);
        packet.write(String(sent++).padStart(7, "0"), topicAt, "latin1");
        raw.socket.write(packet);
      }
    }, 10);
    return {
      note: () => `${sent} distinct topics at ${rate(sent, performance.now() - started)}${raw.closed ? "; the broker closed the connection" : ""}`,
      async stop() {
        clearInterval(timer);
        raw.destroy();
      },
    };
  },
};

const SUBSCRIBES = 4000;
const subscribeStorm: Abuse = {
  name: "subscribe-storm",
  title: `${SUBSCRIBES.toLocaleString("en-US")} SUBSCRIBE packets on a persistent session, over and over (another account)`,
  async start(env) {
    const { deviceToken } = await otherAccount(env, "subscribe");
    const loop = new Loop();
    const answers = new Map<string, number>();
    const roundMs: number[] = [];
    loop.run(1, async () => {
      const started = performance.now();
      const raw = await Raw.connected(env, { clientId: "abuse-subscriber", password: deviceToken, clean: false, version: 4 });
      try {
        let acked = 0;
        const all = new Promise<void>((resolve, reject) => {
          raw.socket.on("close", () => reject(new Error("closed by the broker")));
          // SUBACKs are counted as they come; no waiter per packet for 4 000 of them.
          raw.onPacket = (p) => {
            if (p.cmd !== "suback") return;
            bump(answers, `SUBACK ${(p as { granted: number[] }).granted[0]}`);
            if (++acked === SUBSCRIBES) resolve();
          };
        });
        for (let i = 0; i < SUBSCRIBES && !loop.stopped; i++) {
          raw.send({ cmd: "subscribe", messageId: i + 1, subscriptions: [{ topic: `abuse/sub/${i}`, qos: 1 }] });
        }
        if (!loop.stopped) await Promise.race([all, sleep(30_000).then(() => Promise.reject(new Error("4 000 SUBACKs took over 30 s")))]);
        roundMs.push(performance.now() - started);
      } finally {
        raw.destroy();
      }
      // Start the next round from an empty session.
      const clean = await Raw.connected(env, { clientId: "abuse-subscriber", password: deviceToken, clean: true, version: 4 });
      clean.destroy();
    });
    return {
      note: () =>
        `${loop.rounds} rounds of ${SUBSCRIBES} SUBSCRIBE, ${roundMs.length > 0 ? `${Math.round(roundMs.reduce((a, b) => a + b, 0) / roundMs.length)} ms each` : "none complete"} (${counts(answers)})${loop.errorNote()}`,
      stop: () => loop.stop(),
    };
  },
};

const RECORDS = 20_000;
const dataSkip: Abuse = {
  name: "data-skip",
  title: `\`GET /data?qty=1&skip=…\` over and over, 4 at a time, skip 9e12 and skip = data.maxSkip, on ${RECORDS.toLocaleString("en-US")} records (another account)`,
  async start(env) {
    const { deviceToken } = await otherAccount(env, "data");
    const base = `http://${env.host}:${env.httpPort}`;
    for (let i = 0; i < RECORDS; i += 1000) {
      const body = Array.from({ length: 1000 }, (_, j) => ({ variable: "v", value: i + j }));
      const r = await fetch(`${base}/data`, { method: "POST", headers: { token: deviceToken, "content-type": "application/json" }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`POST /data: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
      await r.arrayBuffer().catch(() => undefined);
    }
    const loop = new Loop();
    const statuses = new Map<string, number>();
    const started = performance.now();
    loop.run(4, async (worker) => {
      const skip = worker % 2 === 0 ? "9000000000000" : "100000";
      const r = await fetch(`${base}/data?variables[0]=v&qty=1&skip=${skip}`, { headers: { token: deviceToken } });
      await r.arrayBuffer();
      bump(statuses, `skip ${skip === "100000" ? "1e5" : "9e12"}: HTTP ${r.status}`);
    });
    return {
      note: () => `${loop.rounds} requests at ${rate(loop.rounds, performance.now() - started)} (${counts(statuses)})${loop.errorNote()}`,
      stop: () => loop.stop(),
    };
  },
};

/** Encoded for `POST /analysis/:id/upload`: a run that starts, logs and ends. */
const ANALYSIS_SCRIPT = `console.log("abuse run");\n`;
const actionFlood: Abuse = {
  name: "action-flood",
  title: "one account floods a script (analysis) and a webhook action: 500 triggering msg/s, each runs both",
  async start(env) {
    const { accountToken, deviceId, deviceToken } = await otherAccount(env, "flood");
    let hooks = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        hooks++;
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const hookPort = (server.address() as { port: number }).port;
    const analysis = await env.api.request<{ id: string }>("POST", "/analysis", { name: "abuse run" }, accountToken);
    await env.api.request("POST", `/analysis/${analysis.id}/upload`, { file: Buffer.from(ANALYSIS_SCRIPT).toString("base64"), file_name: "script.js", language: "node" }, accountToken);
    const trigger = [{ device: deviceId, topic: "abuse/flood/#" }];
    const actions = [
      await env.api.request<{ action: string }>("POST", "/action", { name: "abuse: run", type: "mqtt_topic", trigger, action: { type: "script", script: [analysis.id] } }, accountToken),
      await env.api.request<{ action: string }>("POST", "/action", { name: "abuse: hook", type: "mqtt_topic", trigger, action: { type: "post", url: `http://127.0.0.1:${hookPort}/hook` } }, accountToken),
    ];
    const pub = await Raw.connected(env, { clientId: "abuse-flood", password: deviceToken });
    const publishing = paced(pub, "abuse/flood/x", 500, Buffer.from(JSON.stringify([{ variable: "v", value: 1 }])));
    const started = performance.now();
    let runs = 0;
    const runsNow = async (): Promise<number> => (await env.api.request<unknown[]>("GET", "/analysis/runs", undefined, accountToken)).length;
    return {
      note: () => `${publishing.sent()} triggering messages at ${rate(publishing.sent(), performance.now() - started)}; ${hooks} webhooks received; ${runs} runs queued or running at the end`,
      async stop() {
        publishing.stop();
        pub.destroy();
        runs = await runsNow().catch(() => -1);
        for (const a of actions) await env.api.request("DELETE", `/action/${a.action}`, undefined, accountToken);
        server.close();
        server.closeAllConnections();
      },
    };
  },
};

export const ABUSES: Abuse[] = [
  offlineSessions,
  wrongPassword,
  slowSubscriber,
  slowParser,
  inspectorStreams,
  deepTopics,
  bigTopics,
  subscribeStorm,
  dataSkip,
  actionFlood,
];
