import { defaultConfig } from "../../src/config/schema.js";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import mqtt from "mqtt";
import { connect as natsConnect, type NatsConnection } from "nats";
import { encodeEnvelope } from "../../src/cluster/envelope.js";
import { filterSubjects, topicSubject } from "../../src/cluster/subjects.js";
import { ANONYMOUS_NAMESPACE } from "../../src/access/broker_hooks.js";
import type { Message } from "../../src/mqtt/types.js";
import { CLI_MAIN } from "../helpers/cli.js";
import { collect, publish, settled, startCluster, subscribe, type TestCluster, type TestNode } from "../helpers/cluster.js";
import type { TestNats } from "../helpers/nats_server.js";
import { metricValue, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";
import { generateTopic, ODD_LEVELS, random } from "../helpers/topic_gen.js";
import { until } from "../helpers/until.js";

// Issue 14, routing: three Sluice nodes on loopback, each with its own data dir, joined by a real
// nats-server. A message published on one node reaches the matching subscribers of the others,
// with QoS, retain, No Local, subscription ids and expiry as on one node.

const execFileAsync = promisify(execFile);
let cluster: TestCluster;
let nats: TestNats;
let nodes: TestNode[];
let a: TestNode, b: TestNode, c: TestNode;

before(async () => {
  cluster = await startCluster({ nodes: 3 });
  ({ nats, nodes } = cluster);
  [a, b, c] = nodes as [TestNode, TestNode, TestNode];
});

after(async () => {
  await cluster?.close();
});

describe("a publish on one node reaches subscribers on the others", () => {
  test("QoS 0, 1 and 2, each delivered at the lower of the publish's and the subscription's QoS", async () => {
    const t = uid("q/");
    const onB = await b.client();
    const onC = await c.client();
    await subscribe(onB, `${t}/#`, { qos: 2 });
    await subscribe(onC, `${t}/+`, { qos: 1 });
    await settled(nodes);
    const pub = await a.client();
    const gotB = nextMessages(onB, 3);
    const gotC = nextMessages(onC, 3);
    await publish(pub, `${t}/0`, "zero", { qos: 0 });
    await publish(pub, `${t}/1`, "one", { qos: 1 });
    await publish(pub, `${t}/2`, "two", { qos: 2 });
    assert.deepEqual((await gotB).map((m) => [m.topic, m.payload, m.packet.qos]), [[`${t}/0`, "zero", 0], [`${t}/1`, "one", 1], [`${t}/2`, "two", 2]]);
    assert.deepEqual((await gotC).map((m) => [m.topic, m.payload, m.packet.qos]), [[`${t}/0`, "zero", 0], [`${t}/1`, "one", 1], [`${t}/2`, "two", 1]]);
  });

  test("retain as published for live delivery: the flag is kept only for subscriptions asking for it", async () => {
    const t = uid("rap/");
    const keeps = await b.client();
    const clears = await c.client();
    await subscribe(keeps, t, { qos: 1, rap: true });
    await subscribe(clears, t, { qos: 1 });
    await settled(nodes);
    const pub = await a.client();
    const gotKeeps = nextMessages(keeps, 1);
    const gotClears = nextMessages(clears, 1);
    await publish(pub, t, "r", { qos: 1, retain: true });
    assert.equal((await gotKeeps)[0]!.packet.retain, true);
    assert.equal((await gotClears)[0]!.packet.retain, false);
    await publish(pub, t, "", { qos: 1, retain: true });
  });

  test("mosquitto_pub on node A reaches mosquitto_sub on node C", { skip: !existsSync("/usr/bin/mosquitto_sub") && "mosquitto clients not installed" }, async () => {
    const t = uid("mosq/");
    const sub = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(c.ports.mqtt), "-t", `${t}/#`, "-q", "1", "-C", "1", "-v", "-V", "mqttv311"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    sub.stdout.on("data", (d: Buffer) => (out += d.toString()));
    sub.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => sub.once("exit", resolve));
    // Its subscription is in place once node C holds it and NATS has it.
    await until(async () => (c.server.cluster!.heldSubjects().some((s) => s.subject.endsWith(".>") && s.subject.includes(t.split("/")[1]!)) ? true : undefined));
    await settled(nodes);
    // Not spawnSync: the nodes run in this process, and must answer it.
    await execFileAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(a.ports.mqtt), "-t", `${t}/x`, "-m", "from mosquitto", "-q", "1"], { timeout: 10_000 });
    const timer = setTimeout(() => sub.kill(), 10_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `mosquitto_sub: exit ${code}, stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}, node C cluster ${JSON.stringify(c.server.cluster!.stats)}`);
    assert.equal(out.trim(), `${t}/x from mosquitto`);
  });
});

describe("filters and topics", () => {
  test("`#` also matches its parent level, `+` one level, across nodes", async () => {
    const t = uid("w");
    const hash = await b.client();
    const plus = await c.client();
    await subscribe(hash, `${t}/#`);
    await subscribe(plus, `+/x`);
    await settled(nodes);
    const pub = await a.client();
    const gotHash = nextMessages(hash, 3);
    const gotPlus = nextMessages(plus, 1);
    await publish(pub, t, "parent", { qos: 1 });
    await publish(pub, `${t}/x`, "child", { qos: 1 });
    await publish(pub, `${t}/x/y`, "grandchild", { qos: 1 });
    assert.deepEqual((await gotHash).map((m) => m.topic), [t, `${t}/x`, `${t}/x/y`]);
    assert.deepEqual((await gotPlus).map((m) => m.topic), [`${t}/x`]);
  });

  test("odd topics survive the bus: empty levels, `.`, `*`, `>`, spaces, unicode, `$` topics, and literal filters of them", async () => {
    const root = uid("odd");
    const all = await b.client();
    await subscribe(all, `${root}/#`, { qos: 1 });
    const literal = await c.client();
    const literalTopic = `${root}/a.b/*/ />/é/`;
    await subscribe(literal, literalTopic, { qos: 1 });
    const dollarTopic = `$${root}/x`;
    const dollar = await c.client();
    await subscribe(dollar, `$${root}/+`, { qos: 1 });
    await settled(nodes);
    const rnd = random(1414);
    const topics = [literalTopic, `${root}//`, `${root}/日本/😀`, ...Array.from({ length: 25 }, () => `${root}/${generateTopic(rnd)}`)];
    const pub = await a.client();
    const got = nextMessages(all, topics.length, 10_000);
    const gotLiteral = nextMessages(literal, 1);
    const gotDollar = nextMessages(dollar, 1);
    for (const [i, topic] of topics.entries()) await publish(pub, topic, String(i), { qos: 1 });
    await publish(pub, dollarTopic, "dollar", { qos: 1 });
    assert.deepEqual((await got).map((m) => m.topic), topics);
    assert.equal((await gotLiteral)[0]!.topic, literalTopic);
    assert.equal((await gotDollar)[0]!.topic, dollarTopic);
    assert.ok(ODD_LEVELS.length > 10);
  });

  test("a topic too long for a NATS subject still arrives (overflow subject)", async () => {
    const t = uid("long");
    const sub = await b.client();
    await subscribe(sub, `${t}/#`, { qos: 1 });
    await settled(nodes);
    const long = `${t}/${"é".repeat(1500)}/end`;
    assert.equal(topicSubject(ANONYMOUS_NAMESPACE, long), undefined);
    const pub = await a.client();
    const got = nextMessages(sub, 1);
    await publish(pub, long, "long", { qos: 1 });
    assert.equal((await got)[0]!.topic, long);
  });
});

describe("MQTT 5 features across nodes", () => {
  test("No Local: a client's own publish is not echoed back through another node; others still get it", async () => {
    const t = uid("nl/");
    const id = uid("same-");
    // MQTT's "own publication" is the client id's, whichever node the copy comes through. Client
    // ids are unique cluster-wide, so the case is a persistent session left on B (subscribed with
    // No Local) while the client id, taken over to A, publishes there.
    const selfOnB = await b.client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
    const otherOnB = await b.client();
    await subscribe(selfOnB, `${t}/#`, { qos: 1, nl: true });
    await subscribe(otherOnB, `${t}/#`, { qos: 1 });
    await settled(nodes);
    const selfGone = new Promise<void>((r) => selfOnB.once("close", () => r()));
    const selfOnA = await a.client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } });
    await selfGone;
    const someoneOnA = await a.client();
    const otherGot = nextMessages(otherOnB, 2);
    await publish(selfOnA, `${t}/own`, "own", { qos: 1 });
    await publish(someoneOnA, `${t}/marker`, "marker", { qos: 1 });
    // Once B delivered both to its other subscriber, it queued what it would for the offline session.
    assert.deepEqual((await otherGot).map((m) => m.topic), [`${t}/own`, `${t}/marker`]);
    // The client id back on B resumes that session: only the marker was queued for it.
    const back = mqtt.connect(b.mqttUrl, { clientId: id, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
    const selfGot: string[] = [];
    back.on("message", (topic) => selfGot.push(topic));
    try {
      await until(async () => (selfGot.length >= 1 ? true : undefined));
      // A message after it, from another client: once it arrives, an own copy queued before would have too.
      const after = nextMessages(otherOnB, 1);
      await publish(someoneOnA, `${t}/after`, "after", { qos: 1 });
      await after;
      await until(async () => (selfGot.includes(`${t}/after`) ? true : undefined));
      assert.deepEqual(selfGot, [`${t}/marker`, `${t}/after`]);
    } finally {
      back.end(true);
    }
  });

  test("subscription identifiers are the receiving subscriptions', all of them on one copy", async () => {
    const t = uid("sid/");
    const sub = await b.client();
    await subscribe(sub, `${t}/+`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await subscribe(sub, `${t}/#`, { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await settled(nodes);
    const pub = await a.client();
    const got = collect(sub);
    const one = nextMessages(sub, 1);
    await publish(pub, `${t}/x`, "x", { qos: 1, properties: { subscriptionIdentifier: 1234 } as never });
    const [m] = await one;
    const ids = m!.packet.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort((x, y) => Number(x) - Number(y)), [7, 9]);
    // One copy, though the two filters are two NATS subscriptions on node B.
    const marker = nextMessages(sub, 1);
    await publish(pub, `${t}/marker`, "m", { qos: 1 });
    await marker;
    assert.deepEqual(got.map((g) => g.topic), [`${t}/x`, `${t}/marker`]);
    assert.ok((b.server.cluster!.stats.dropped.duplicate ?? 0) >= 2);
  });

  test("properties survive; message expiry counts down, and an expired message is not delivered", async () => {
    const t = uid("exp/");
    const id = uid("offline-");
    const sub = await b.client({ clientId: id, clean: false, properties: { sessionExpiryInterval: 600 } });
    await subscribe(sub, `${t}/#`, { qos: 1 });
    await settled(nodes);
    const pub = await a.client();
    const live = nextMessages(sub, 1);
    await publish(pub, `${t}/live`, "live", {
      qos: 1,
      properties: { messageExpiryInterval: 3600, contentType: "text/plain", responseTopic: "resp/x", correlationData: Buffer.from("c1"), userProperties: { k: "v" }, payloadFormatIndicator: true },
    });
    const p = (await live)[0]!.packet.properties!;
    assert.ok(p.messageExpiryInterval! <= 3600 && p.messageExpiryInterval! > 3500);
    assert.equal(p.contentType, "text/plain");
    assert.equal(p.responseTopic, "resp/x");
    assert.deepEqual(Buffer.from(p.correlationData!), Buffer.from("c1"));
    assert.deepEqual({ ...p.userProperties }, { k: "v" });
    assert.equal(p.payloadFormatIndicator, true);

    // Offline on B: one message that expires while it waits, one that does not.
    await new Promise<void>((r) => sub.end(false, {}, () => r()));
    const sentAt = Date.now();
    await publish(pub, `${t}/short`, "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publish(pub, `${t}/kept`, "kept", { qos: 1, properties: { messageExpiryInterval: 3600 } });
    await until(async () => (b.server.broker.namespace(ANONYMOUS_NAMESPACE).sessions.get(id)?.queue.length === 2 ? true : undefined));
    // Expiry is about time passing: wait until the short one's second is over.
    await until(async () => (Date.now() - sentAt > 1100 ? true : undefined));
    // Listening before CONNACK: the queued messages follow it at once.
    const again = mqtt.connect(b.mqttUrl, { clientId: id, clean: false, protocolVersion: 5, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } });
    const got = await nextMessages(again, 1);
    assert.equal(got[0]!.topic, `${t}/kept`);
    assert.ok(got[0]!.packet.properties!.messageExpiryInterval! < 3600);
    assert.ok((b.server.broker.stats.dropped.expired ?? 0) >= 1);
    await new Promise<void>((r) => again.end(false, { properties: { sessionExpiryInterval: 0 } }, () => r()));
  });
});

describe("shared subscriptions across nodes", () => {
  test("`$share/group/filter` members on three nodes: each message once per group", async () => {
    const t = uid("sh/");
    const g1 = await Promise.all(nodes.map((n) => n.client()));
    const g2 = await c.client();
    for (const client of g1) await subscribe(client, `$share/g1/${t}/#`, { qos: 1 });
    await subscribe(g2, `$share/g2/${t}/#`, { qos: 1 });
    await settled(nodes);
    const got1 = g1.map((client) => collect(client));
    const got2 = collect(g2);
    const pub = await a.client();
    const n = 30;
    for (let i = 0; i < n; i++) await publish(pub, `${t}/${i}`, String(i), { qos: 1 });
    await until(async () => (got1.flat().length >= n && got2.length >= n ? true : undefined), 10_000);
    // Whatever else is in flight has had the time these took: no duplicates arrive after.
    const marker = nextMessages(g2, 1);
    await publish(pub, `${t}/end`, "end", { qos: 1 });
    await marker;
    const all1 = got1.flat().map((m) => m.payload).filter((p) => p !== "end").sort((x, y) => Number(x) - Number(y));
    assert.deepEqual(all1, Array.from({ length: n }, (_, i) => String(i)));
    assert.deepEqual(got2.map((m) => m.payload).filter((p) => p !== "end"), Array.from({ length: n }, (_, i) => String(i)));
    // The group was served by more than one node.
    assert.ok(got1.filter((g) => g.length > 0).length >= 2, `per node: ${got1.map((g) => g.length)}`);
  });

  test("a group whose members are all on the publishing node still gets each message once", async () => {
    const t = uid("shl/");
    const members = [await a.client(), await a.client()];
    for (const m of members) await subscribe(m, `$share/local/${t}`, { qos: 1 });
    await settled(nodes);
    const got = members.map((m) => collect(m));
    const pub = await a.client();
    for (let i = 0; i < 10; i++) await publish(pub, t, String(i), { qos: 1 });
    await until(async () => (got.flat().length >= 10 ? true : undefined));
    await settled(nodes);
    assert.deepEqual(got.flat().map((m) => m.payload).sort((x, y) => Number(x) - Number(y)), Array.from({ length: 10 }, (_, i) => String(i)));
  });
});

describe("interest follows subscriptions", () => {
  test("a node whose clients subscribe to nothing matching hears nothing on NATS; subscriptions go when the last subscriber does", async () => {
    const t = uid("int/");
    const before = { b: b.server.cluster!.stats.received, c: c.server.cluster!.stats.received };
    const sub = await b.client();
    await subscribe(sub, `${t}/#`, { qos: 1 });
    await settled(nodes);
    const pub = await a.client();
    const got = nextMessages(sub, 20);
    for (let i = 0; i < 20; i++) await publish(pub, `${t}/${i}`, "x", { qos: 1 });
    await got;
    await settled(nodes);
    assert.equal(b.server.cluster!.stats.received - before.b, 20);
    assert.equal(c.server.cluster!.stats.received - before.c, 0);
    // NATS's own view: node C's connections hold no subscription on these subjects.
    const subjects = filterSubjects(ANONYMOUS_NAMESPACE, `${t}/#`);
    const subsOf = async (node: TestNode) => {
      const connz = (await (await fetch(`${nats.monitor}/connz?subs=1&limit=1000`)).json()) as { connections: { name?: string; subscriptions_list?: string[] }[] };
      return connz.connections.filter((conn) => conn.name?.includes(node.server.cluster!.origin)).flatMap((conn) => conn.subscriptions_list ?? []);
    };
    assert.equal((await subsOf(c)).filter((s) => subjects.includes(s)).length, 0);
    assert.equal((await subsOf(b)).filter((s) => subjects.includes(s)).length, subjects.length);
    // The last subscriber leaves: node B unsubscribes on NATS.
    await new Promise<void>((r) => sub.end(false, {}, () => r()));
    await until(async () => (b.server.cluster!.heldSubjects().some((s) => subjects.includes(s.subject)) ? undefined : true));
    await settled(nodes);
    assert.equal((await subsOf(b)).filter((s) => subjects.includes(s)).length, 0);
  });
});

describe("hostile bus traffic", () => {
  let nc: NatsConnection;
  before(async () => {
    nc = await natsConnect({ servers: nats.url });
  });
  after(async () => {
    await nc.close();
  });

  test("garbage, a foreign version and an envelope on the wrong subject are dropped and counted; routing goes on", async () => {
    const t = uid("bad/");
    const sub = await b.client();
    await subscribe(sub, `${t}/#`, { qos: 1 });
    await settled(nodes);
    const subject = topicSubject(ANONYMOUS_NAMESPACE, `${t}/x`)!;
    const dropped = () => ({ ...b.server.cluster!.stats.dropped });
    const before = dropped();
    nc.publish(subject, new TextEncoder().encode("not an envelope"));
    nc.publish(subject, new Uint8Array(0));
    nc.publish(subject, new Uint8Array([0x53, 0x4c, 99, 0]));
    const m: Message = { topic: `${t}/other`, payload: Buffer.from("p"), qos: 1, retain: false, properties: undefined, expiresAt: undefined, publisher: undefined };
    // A well-formed envelope whose topic is not the subject's: it could smuggle a message to topics a subscriber never heard on.
    nc.publish(subject, encodeEnvelope("intruder", 1, ANONYMOUS_NAMESPACE, m));
    // And one for another namespace, on this namespace's subject.
    nc.publish(subject, encodeEnvelope("intruder", 2, "other-account", { ...m, topic: `${t}/x` }));
    await nc.flush();
    await until(async () => {
      const d = dropped();
      const grew = (k: string) => (d[k] ?? 0) - (before[k] ?? 0);
      return grew("malformed") >= 2 && grew("version") >= 1 && grew("subject_mismatch") >= 2 ? true : undefined;
    });
    assert.ok((await metricValue(b.ports.http, 'sluice_cluster_dropped_total{reason="malformed"}')) >= 2);
    // Still routing.
    const got = nextMessages(sub, 1);
    const pub = await a.client();
    await publish(pub, `${t}/x`, "after", { qos: 1 });
    assert.equal((await got)[0]!.payload, "after");
  });
});

describe("retained messages across nodes", () => {
  test("retained on A is sent on SUBSCRIBE on C; cleared on B it is gone everywhere", async () => {
    const t = uid("ret/");
    const pub = await a.client();
    await publish(pub, `${t}/x`, "kept", { qos: 1, retain: true });
    await until(async () => (c.server.broker.retainedFor(ANONYMOUS_NAMESPACE, `${t}/#`).length === 1 ? true : undefined));
    const sub = await c.client();
    const got = nextMessages(sub, 1);
    await subscribe(sub, `${t}/#`, { qos: 1 });
    const [m] = await got;
    assert.deepEqual([m!.topic, m!.payload, m!.packet.retain], [`${t}/x`, "kept", true]);
    const clearer = await b.client();
    await publish(clearer, `${t}/x`, "", { qos: 1, retain: true });
    await until(async () => (nodes.every((n) => n.server.broker.retainedFor(ANONYMOUS_NAMESPACE, `${t}/#`).length === 0) ? true : undefined));
  });
});

describe("sluice start --cluster", () => {
  test("a node started from the command line (--cluster, SLUICE_NODE_ID) joins: a publish on node A reaches its subscriber", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-cli-node-"));
    const ports = ["--mqtt-port", "0", "--mqtts-port", "0", "--ws-port", "0", "--wss-port", "0", "--http-port", "0", "--https-port", "0"];
    const child = spawn(process.execPath, [CLI_MAIN, "start", "--data-dir", dir, ...ports, "--host", "127.0.0.1", "--allow-anonymous", "--log-level", "warn", "--cluster", nats.url], {
      env: { ...process.env, SLUICE_NODE_ID: "cli-node" }, stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      const portsFile = join(dir, "ports.json");
      const mqttPort = await until(async () => {
        try {
          return (JSON.parse(readFileSync(portsFile, "utf8")) as { mqtt: number }).mqtt;
        } catch {
          return undefined;
        }
      }, 20_000);
      // CONNACK 0x88 until it reached NATS: retry until it takes the client.
      const sub = await until(async () => {
        const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5, reconnectPeriod: 0 });
        return new Promise<mqtt.MqttClient | undefined>((resolve) => {
          client.once("connect", () => resolve(client));
          client.once("error", () => {
            client.end(true);
            resolve(undefined);
          });
        });
      }, 20_000);
      const t = uid("cli/");
      await subscribe(sub, `${t}/#`, { qos: 1 });
      const connz = async () => (await (await fetch(`${nats.monitor}/connz?subs=1`)).json()) as { connections: { name?: string; subscriptions_list?: string[] }[] };
      // Its subscription is on NATS once the server lists it for the node named cli-node.
      await until(async () => ((await connz()).connections.some((c) => c.name?.includes("cli-node") && (c.subscriptions_list ?? []).some((x) => x.includes(t.split("/")[1]!))) ? true : undefined));
      const pub = await a.client();
      const got = nextMessages(sub, 1);
      await publish(pub, `${t}/x`, "to the cli node", { qos: 1 });
      assert.equal((await got)[0]!.payload, "to the cli node");
      sub.end(true);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("NATS restarted", () => {
  let lateNode: TestSluice | undefined;
  after(async () => lateNode?.close());

  test("while it is down: CONNACK 0x88 (5.0) / 3 (3.1.1), HTTP answers, a QoS 1 PUBLISH is not acknowledged; after: recovery by itself", async () => {
    const t = uid("down/");
    const sub = await b.client({ reconnectPeriod: 0 });
    await subscribe(sub, `${t}/#`, { qos: 1 });
    const pub = await a.client();
    await settled(nodes);
    await nats.stop();
    await until(async () => (nodes.every((n) => !n.server.cluster!.available) ? true : undefined), 15_000);

    // A node started while NATS is down starts (HTTP up), refuses MQTT, and joins once NATS is back.
    const late = await startSluice({ allowAnonymous: true, cluster: { ...defaultConfig.cluster, url: nats.url, nodeId: "node-late", ackTimeoutMs: 5000 }, sysInterval: 0 });
    lateNode = late;
    assert.equal((await fetch(`${late.api}/metrics`)).status, 200);
    await assert.rejects(late.connect({ protocolVersion: 5 }), (err: Error & { code?: number }) => err.code === 0x88);

    await assert.rejects(a.client(), (err: Error & { code?: number }) => err.code === 0x88);
    await assert.rejects(a.client({ protocolVersion: 4 }), (err: Error & { code?: number }) => err.code === 3);
    const health = await fetch(`${a.api}/metrics`);
    assert.equal(health.status, 200);
    assert.equal(await metricValue(a.ports.http, "sluice_cluster_available"), 0);

    // An existing client's QoS 1 message: not acknowledged, the client is disconnected (0x89) and keeps it.
    const closed = new Promise<void>((resolve) => pub.once("close", () => resolve()));
    let acked = false;
    pub.publish(`${t}/x`, "while down", { qos: 1 }, () => (acked = true));
    await closed;
    assert.equal(acked, false);

    await nats.start();
    await until(async () => (nodes.every((n) => n.server.cluster!.available) ? true : undefined), 20_000);
    assert.equal(await metricValue(a.ports.http, "sluice_cluster_available"), 1);
    await until(async () => (late.server.cluster!.available ? true : undefined), 20_000);
    const onLate = await late.connect({ protocolVersion: 5 });
    await subscribe(onLate, `${t}/#`, { qos: 1 });
    // B's subscription came back with its connection (nats.js subscribes again).
    await settled([...nodes, late]);
    const pub2 = await a.client();
    const got = nextMessages(sub, 1, 10_000);
    const gotLate = nextMessages(onLate, 1, 10_000);
    await publish(pub2, `${t}/y`, "after", { qos: 1 });
    assert.equal((await got)[0]!.payload, "after");
    assert.equal((await gotLate)[0]!.payload, "after");
    // Retained messages work again too.
    await publish(pub2, `${t}/r`, "retained after restart", { qos: 1, retain: true });
    await until(async () => (c.server.broker.retainedFor(ANONYMOUS_NAMESPACE, `${t}/r`).length === 1 ? true : undefined), 10_000);
  });
});
