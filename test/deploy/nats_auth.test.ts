import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { connect as natsConnect, type NatsError } from "nats";
import { collect, publish, settled, startNodeFromEnv, subscribe, untilAvailable } from "../helpers/cluster.js";
import { deployFile } from "../helpers/deploy.js";
import { localNatsConfig, NATS_SERVER, startNats, type TestNats } from "../helpers/nats_server.js";
import type { TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// deploy/nats.conf as shipped (only its listen, http and store_dir lines pointed at temp values)
// on the real nats-server: it admits Sluice's user with the password from its environment, and
// nobody else; Sluice nodes given that password in SLUICE_CLUSTER, as compose.yaml and
// systemd/sluice.env.example give it, join and route (docs/cluster.md, "Deploying").

const shipped = readFileSync(deployFile("nats.conf"), "utf8");
// The form deploy/.env.example tells to generate: a letter, then hex digits.
const password = `n${randomBytes(24).toString("hex")}`;
let nats: TestNats;
const nodes: TestSluice[] = [];

before(async () => {
  nats = await startNats({ config: (place) => localNatsConfig(shipped, place), env: { SLUICE_NATS_PASSWORD: password } });
});

after(async () => {
  for (const n of nodes) await n.close();
  await nats?.close();
});

/** nats-server's environment without the password (whatever the test process has). */
function envWithout(name: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[name];
  return env;
}

/** The NATS error code a connection attempt ends with, or "connected". */
async function attempt(options: { user?: string; pass?: string }): Promise<string> {
  try {
    const nc = await natsConnect({ servers: nats.url, reconnect: false, ...options });
    await nc.close();
    return "connected";
  } catch (err) {
    return (err as NatsError).code ?? String(err);
  }
}

async function nodeWith(cluster: string, nodeId: string): Promise<{ node: TestSluice; logged: () => string }> {
  const started = await startNodeFromEnv(cluster, nodeId);
  nodes.push(started.node);
  return started;
}

test("nats-server refuses to start on the shipped nats.conf while SLUICE_NATS_PASSWORD is unset", () => {
  const unset = spawnSync(NATS_SERVER, ["-c", nats.conf, "-t"], { encoding: "utf8", env: envWithout("SLUICE_NATS_PASSWORD") });
  assert.notEqual(unset.status, 0, `${unset.stdout}${unset.stderr}`);
  assert.match(`${unset.stdout}${unset.stderr}`, /SLUICE_NATS_PASSWORD/);
  const set = spawnSync(NATS_SERVER, ["-c", nats.conf, "-t"], { encoding: "utf8", env: { ...process.env, SLUICE_NATS_PASSWORD: password } });
  assert.equal(set.status, 0, `${set.stdout}${set.stderr}`);
});

test("a connection without the password, or with another, is refused; Sluice's user with it is admitted", async () => {
  assert.equal(await attempt({}), "AUTHORIZATION_VIOLATION");
  assert.equal(await attempt({ user: "sluice", pass: "not-it" }), "AUTHORIZATION_VIOLATION");
  // The literal text of the reference: what a quoted "$SLUICE_NATS_PASSWORD" in the file would have made the password.
  assert.equal(await attempt({ user: "sluice", pass: "$SLUICE_NATS_PASSWORD" }), "AUTHORIZATION_VIOLATION");
  assert.equal(await attempt({ user: "sluice", pass: password }), "connected");
});

test("a node with another password in SLUICE_CLUSTER is refused, and logs neither password", async () => {
  const { node, logged } = await nodeWith(`nats://sluice:wrongpw${password.slice(0, 6)}@127.0.0.1:${nats.port}`, "wrong");
  await until(async () => (logged().includes("NATS unreachable") ? true : undefined), 10_000);
  assert.equal(node.server.cluster?.available, false);
  assert.ok(!logged().includes(password.slice(0, 6)), logged());
});

test(
  "two nodes with the password in SLUICE_CLUSTER join and route a message; the password is not logged",
  // nats.js (2.29) takes no credentials from a server URL: src/cluster/node.ts passes the URL's
  // user and password as its `user` and `pass` options (`natsServers`).
  async () => {
    const url = `nats://sluice:${password}@127.0.0.1:${nats.port}`;
    const [a, b] = await Promise.all([nodeWith(url, "node-a"), nodeWith(url, "node-b")]);
    await Promise.all([untilAvailable(a.node), untilAvailable(b.node)]);
    const sub = await b.node.connect({ protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, "deploy/auth/#", { qos: 1 });
    await settled([a.node, b.node]);
    const pub = await a.node.connect({ protocolVersion: 5 });
    await publish(pub, "deploy/auth/x", "through the authenticated bus", { qos: 1 });
    await until(async () => (got.length > 0 ? true : undefined));
    assert.deepEqual(got.map((m) => [m.topic, m.payload]), [["deploy/auth/x", "through the authenticated bus"]]);
    sub.end(true);
    pub.end(true);
    for (const n of [a, b]) {
      assert.match(n.logged(), /connected to NATS/);
      assert.ok(!n.logged().includes(password), n.logged());
    }
  },
);
