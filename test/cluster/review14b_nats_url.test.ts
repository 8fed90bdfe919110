import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { collect, publish, settled, startNodeFromEnv, subscribe, untilAvailable } from "../helpers/cluster.js";
import { startNats, type TestNats } from "../helpers/nats_server.js";
import type { TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Review of "NATS authorization" (docs/cluster.md, "Deploying"): the node takes the user and
// password out of `cluster.url` (`natsServers`). Passwords holding URL characters, and a
// password that is not valid percent-encoding: the node must join with it or refuse to start
// with a clear error, and its password must never reach a log line or an error message.

const secret = randomBytes(8).toString("hex");
// "@", "/" and ":" as they are: a URL parser would stop the host at "/", and the first "@" is not the last.
const password = `p@ss/w:rd-${secret}`;
let nats: TestNats;
const nodes: TestSluice[] = [];

before(async () => {
  nats = await startNats({
    config: (place) => [
      `listen: "127.0.0.1:${place.port}"`,
      `http: "127.0.0.1:${place.monitorPort}"`,
      "max_payload: 2MB",
      `jetstream { store_dir: ${JSON.stringify(place.storeDir)} }`,
      `authorization { user: sluice, password: ${JSON.stringify(password)} }`,
      "",
    ].join("\n"),
  });
});

after(async () => {
  for (const n of nodes) await n.close();
  await nats?.close();
});

function configError(cluster: string): string {
  try {
    loadConfig({ env: { SLUICE_CLUSTER: cluster, SLUICE_NODE_ID: "x" } });
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
}

async function nodeWith(cluster: string, nodeId: string): Promise<{ node: TestSluice; logged: () => string }> {
  const started = await startNodeFromEnv(cluster, nodeId);
  nodes.push(started.node);
  return started;
}

test("a password that is not valid percent-encoding is refused at start, by a message without it", () => {
  // Before: accepted by the config check, then decodeURIComponent threw inside the node's
  // connecting: "cluster: could not start" logged, and the node answered 0x88 forever.
  const message = configError(`nats://sluice:pw%zz${secret}@127.0.0.1:${nats.port}`);
  assert.match(message, /cluster\.url: server 1 of 1 .*percent-encoding/);
  assert.ok(!message.includes(secret), message);
});

test("a malformed server's error message does not carry the password", () => {
  // Before: "/" in a password made the URL unparseable, and the ConfigError quoted it whole.
  const message = configError(`nats://sluice:${secret}@127.0.0.1:notaport`);
  assert.notEqual(message, "accepted");
  assert.ok(!message.includes(secret), message);
});

test("nodes whose password holds @, / and : as they are join and route, and log no part of it", async () => {
  const url = `nats://sluice:${password}@127.0.0.1:${nats.port}`;
  const [a, b] = await Promise.all([nodeWith(url, "url-a"), nodeWith(url, "url-b")]);
  await Promise.all([untilAvailable(a.node), untilAvailable(b.node)]);
  const sub = await b.node.connect({ protocolVersion: 5 });
  const got = collect(sub);
  await subscribe(sub, "review/url/#", { qos: 1 });
  await settled([a.node, b.node]);
  const pub = await a.node.connect({ protocolVersion: 5 });
  await publish(pub, "review/url/x", "joined", { qos: 1 });
  await until(async () => (got.length > 0 ? true : undefined));
  sub.end(true);
  pub.end(true);
  for (const n of [a, b]) assert.ok(!n.logged().includes(secret) && !n.logged().includes("w:rd"), n.logged());
});

test("a node with a wrong password holding @ logs no part of it", async () => {
  const { node, logged } = await nodeWith(`nats://sluice:x@y${secret}@127.0.0.1:${nats.port}`, "url-wrong");
  await until(async () => (logged().includes("NATS unreachable") ? true : undefined), 10_000);
  assert.equal(node.server.cluster?.available, false);
  // Before: the mask ended at the first "@", logging "sluice:***@y<secret>@127.0.0.1".
  assert.ok(!logged().includes(secret), logged());
});
