import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { deployFile } from "../helpers/deploy.js";

// Docker is not on the test machine: compose.yaml cannot be run here, so what it must hold for
// a working cluster is read from it (test/cluster/haproxy.test.ts runs deploy/haproxy.cfg).


interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: unknown;
}

const deploy = dirname(deployFile("compose.yaml"));
// Merge keys (`<<: *sluice`) as compose reads them.
const compose = parse(readFileSync(join(deploy, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const nodes = Object.entries(services).filter(([name]) => /^sluice\d+$/.test(name));

test("sluice.yaml is a valid Sluice config file", () => {
  const config = loadConfig({ configFile: join(deploy, "sluice.yaml"), env: {} });
  assert.ok(config.mqtt.maxPendingConnectionsPerAddress >= config.mqtt.maxPendingConnections, "behind HAProxy, one address is every client");
  assert.ok(config.http.maxConnectionsPerAddress >= config.http.maxConnections);
});

test("compose: three nodes, each its own id and data volume, the same store, bus and relay secret", () => {
  assert.equal(nodes.length, 3);
  const ids = nodes.map(([, s]) => s.environment?.SLUICE_NODE_ID);
  assert.deepEqual(new Set(ids).size, 3, `node ids: ${ids.join(", ")}`);
  for (const key of ["SLUICE_STORE", "SLUICE_CLUSTER", "SLUICE_RELAY_SECRET"]) {
    const values = new Set(nodes.map(([, s]) => s.environment?.[key]));
    assert.equal(values.size, 1, `${key} differs between nodes`);
    assert.ok([...values][0], `${key} is set`);
  }
  assert.match(nodes[0]![1].environment!.SLUICE_STORE!, /^postgres:\/\/[^@]+@postgres:5432\//);
  assert.match(nodes[0]![1].environment!.SLUICE_CLUSTER!, /^nats:\/\/sluice:\$\{SLUICE_NATS_PASSWORD:\?[^}]+\}@nats:4222$/);
  const dataVolumes = nodes.map(([, s]) => s.volumes?.find((v) => v.endsWith(":/var/lib/sluice")));
  assert.equal(new Set(dataVolumes).size, 3, "each node its own data dir");
  for (const [, s] of nodes) assert.ok(s.volumes?.includes("./sluice.yaml:/etc/sluice/sluice.yaml:ro"));
});

test("compose: PostgreSQL's max_connections covers every node's pool", () => {
  const poolSize = loadConfig({ configFile: join(deploy, "sluice.yaml"), env: {} }).postgres.poolSize;
  const setting = services.postgres!.command!.find((a) => a.startsWith("max_connections="));
  assert.ok(setting, "max_connections set");
  // PostgreSQL keeps 3 for superusers by default; psql and pg_dump need a few more.
  assert.ok(Number(setting.split("=")[1]) >= nodes.length * poolSize + 10, `${setting} for ${nodes.length} x ${poolSize}`);
});

test("compose: NATS runs deploy/nats.conf, with JetStream and room for Sluice's largest message", () => {
  const nats = services.nats!;
  assert.ok(nats.volumes?.includes("./nats.conf:/etc/nats/nats.conf:ro"));
  assert.deepEqual(nats.command, ["-c", "/etc/nats/nats.conf"]);
  const conf = readFileSync(join(deploy, "nats.conf"), "utf8");
  assert.match(conf, /^jetstream\s*\{/m);
  assert.match(conf, /^max_payload:\s*2MB$/m);
});

test("compose: HAProxy runs deploy/haproxy.cfg and publishes MQTT, MQTT over TLS and HTTP", () => {
  const haproxy = services.haproxy!;
  assert.ok(haproxy.volumes?.includes("./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"));
  assert.deepEqual(haproxy.ports, ["1883:1883", "8883:8883", "80:80"]);
  const cfg = readFileSync(join(deploy, "haproxy.cfg"), "utf8");
  for (const [name] of nodes) assert.match(cfg, new RegExp(`server ${name} ${name}:1883 `), `${name} in the MQTT backend`);
});

test("compose: one node starts first (it creates the admin account), the others once it is healthy", () => {
  const first = services.sluice1!;
  assert.deepEqual(first.depends_on, { postgres: { condition: "service_healthy" }, nats: { condition: "service_healthy" } });
  for (const [name, s] of nodes.slice(1)) assert.deepEqual(s.depends_on, { sluice1: { condition: "service_healthy" } }, name);
  assert.ok(services.postgres!.healthcheck && services.nats!.healthcheck);
  // sluice1's health is the image's HEALTHCHECK on /status.
  assert.match(readFileSync(join(deploy, "Dockerfile"), "utf8"), /HEALTHCHECK[\s\S]*\/status/);
});

test("NATS authorization: nats and every node get the one password from deploy/.env; systemd passes it to nats-server", () => {
  // compose: the same variable, required (`:?`), in nats's environment and in each node's SLUICE_CLUSTER.
  assert.match(services.nats!.environment?.SLUICE_NATS_PASSWORD ?? "", /^\$\{SLUICE_NATS_PASSWORD:\?[^}]+\}$/);
  for (const [name, s] of nodes) assert.ok(s.environment?.SLUICE_CLUSTER?.includes("${SLUICE_NATS_PASSWORD:?"), name);
  assert.match(readFileSync(join(deploy, ".env.example"), "utf8"), /^SLUICE_NATS_PASSWORD=/m);
  // nats.conf: the sluice user's password is the unquoted reference (quoted, it would be the literal text).
  const conf = readFileSync(join(deploy, "nats.conf"), "utf8");
  assert.match(conf, /^authorization\s*\{[^}]*\{\s*user:\s*sluice,\s*password:\s*\$SLUICE_NATS_PASSWORD\s*\}/m);
  // systemd: the drop-in reads the file the example is for; each node's SLUICE_CLUSTER names the user.
  const dropIn = readFileSync(join(deploy, "systemd", "nats-server.service.d", "sluice.conf"), "utf8");
  const envFile = /^EnvironmentFile=(\S+)$/m.exec(dropIn)?.[1];
  assert.equal(envFile, "/etc/nats-server.env");
  const envExample = readFileSync(join(deploy, "systemd", "nats-server.env.example"), "utf8");
  assert.ok(envExample.startsWith(`# ${envFile},`), "the example names the file the drop-in reads");
  assert.match(envExample, /^SLUICE_NATS_PASSWORD=$/m);
  assert.match(readFileSync(join(deploy, "systemd", "sluice.env.example"), "utf8"), /^SLUICE_CLUSTER=nats:\/\/sluice:PASSWORD@/m);
});
