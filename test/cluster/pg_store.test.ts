import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import pg from "pg";
import { after, before, test } from "node:test";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// `--store postgres://`: what a device writes over MQTT is stored in PostgreSQL and read back
// over the API, and a second node on the same database sees the same device and records.
let postgres: TestPostgres;
let a: TestSluice;
before(async () => {
  postgres = await startPostgres();
  a = await startSluice({ postgres: { url: postgres.url, poolSize: 4 } });
});
after(async () => {
  await a?.close();
  await postgres?.stop();
});

test("a device's records land in PostgreSQL and read back over HTTP", async () => {
  const device = await a.device();
  const post = await fetch(`${a.api}/data`, {
    method: "POST", headers: { authorization: device.token, "content-type": "application/json" },
    body: JSON.stringify([{ variable: "temperature", value: 21.5 }]),
  });
  assert.equal(post.status, 200);
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  try {
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM data_records")).rows[0]!.n, 1);
  } finally {
    await db.end();
  }
  await until(async () => {
    const res = await fetch(`${a.api}/data?variable=temperature`, { headers: { authorization: device.token } });
    const body = (await res.json()) as { result: { value: number }[] };
    return body.result.length === 1 && body.result[0]!.value === 21.5 ? body : undefined;
  });
});

test("with --store the data dir holds no SQLite file, only the node's own files", async () => {
  // Work that every store sees: a device, its token and records, a dashboard, a notification, an action.
  const device = await a.device();
  const headers = { authorization: a.adminToken, "content-type": "application/json" };
  for (const [path, body] of [
    ["/dashboard", { label: "d" }],
    ["/notification", { title: "t", message: "m" }],
    ["/action", { name: "store", type: "mqtt_topic", trigger: [{ device: device.deviceId, topic: "x/#" }], action: { type: "insert_bucket" } }],
  ] as const) {
    const res = await fetch(`${a.api}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    assert.ok(res.status < 300, `${path}: ${res.status} ${await res.text()}`);
  }
  const client = await a.connect({ username: "t", password: device.token });
  await client.publishAsync("x/1", JSON.stringify({ variable: "v", value: 1 }), { qos: 1 });
  const files = readdirSync(a.dataDir).sort();
  assert.ok(!files.some((f) => f.startsWith("sluice.db")), `no SQLite file: ${files.join(", ")}`);
  // What stays is the node's own: TLS material, the admin token, the setup link, ports, pid, keys, the analysis workspace.
  const allowed = /^(admin-token|setup-link|ports\.json|sluice\.pid|tls|relay-secret.*|analysis.*|.*\.pem|.*\.key)$/;
  for (const f of files) assert.match(f, allowed, `unexpected file in the data dir: ${f}`);
});
