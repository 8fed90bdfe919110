import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DATA_BODY_LIMIT } from "../../src/http/routes/data.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// POST /device/:id/parser/test through both doors (issue 11), on a whole Sluice: a sample that
// came in over MQTT (raw text on a topic) or over HTTP (a POST /data body, handed to the parser
// as is). For the HTTP door, what the emulator answers must be what a real POST /data with the
// same body stores; for the MQTT door, what a real publish stores.

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(() => sluice.close());

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { "content-type": "application/json", token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const account = (method: string, path: string, body?: unknown) => call(method, path, sluice.adminToken, body);

/** Runs the emulator and answers its output records (asserting a 200). */
async function emulate(deviceId: string, request: Record<string, unknown>): Promise<{ records: Rec[]; logs: unknown }> {
  const { status, body } = await account("POST", `/device/${deviceId}/parser/test`, request);
  assert.equal(status, 200, JSON.stringify(body));
  const result = body.result as { payload: Rec[]; logs: unknown };
  return { records: result.payload, logs: result.logs };
}

type Rec = { variable: string; value?: unknown; unit?: string; group?: string; time?: string; metadata?: Record<string, unknown> };

/** A device's stored records as GET /data gives them, without what storing adds (id, device, created_at). */
async function stored(token: string): Promise<Rec[]> {
  const { status, body } = await call("GET", "/data?qty=100", token);
  assert.equal(status, 200, JSON.stringify(body));
  return sorted((body.result as (Rec & { id: string; device: string; created_at: string })[]).map(({ id: _id, device: _device, created_at: _created, ...record }) => record));
}

const sorted = (records: Rec[]) => [...records].sort((a, b) => a.variable.localeCompare(b.variable) || String(a.time).localeCompare(String(b.time)));

async function saveParser(deviceId: string, script: string): Promise<void> {
  const { status } = await account("PUT", `/device/${deviceId}`, { parse_function: script });
  assert.equal(status, 200);
}

async function storeTopic(deviceId: string, topic: string): Promise<void> {
  const { status, body } = await account("POST", "/action", {
    name: `store ${topic}`,
    type: "mqtt_topic",
    trigger: [{ device: deviceId, topic }],
    action: { type: "insert_bucket" },
  });
  assert.equal(status, 200, JSON.stringify(body));
}

// --- parsers, written like TagoIO's public decoders: each takes its vendor JSON from either
// door (MQTT: the text of the `payload` record; HTTP: the posted body itself) ---------------

/** SenML (RFC 8428): base name/time/unit resolved, one record per measurement. */
const SENML_PARSER = `
const raw = payload.find((r) => r.variable === "payload");
const pack = raw ? JSON.parse(raw.value) : payload;
let bn = "", bt = 0, bu;
const records = [];
for (const entry of pack) {
  if (entry.bn !== undefined) bn = entry.bn;
  if (entry.bt !== undefined) bt = entry.bt;
  if (entry.bu !== undefined) bu = entry.bu;
  const value = entry.v ?? entry.vs ?? entry.vb;
  if (entry.n === undefined || value === undefined) continue;
  const record = {
    variable: entry.n.toLowerCase().replace(/[^a-z0-9_]/g, "_"),
    value,
    time: new Date((bt + (entry.t ?? 0)) * 1000).toISOString(),
    group: bn.replace(/:$/, ""),
    metadata: { senml_name: bn + entry.n, ...(raw ? { topic: raw.metadata.topic } : {}) },
  };
  if ((entry.u ?? bu) !== undefined) record.unit = entry.u ?? bu;
  records.push(record);
}
console.log("senml", bn, records.length);
payload = records;
`;

const SENML = [
  { bn: "urn:dev:ow:10e2073a01080063:", bt: 1.320078429e9 },
  { n: "temp", u: "Cel", v: 21 },
  { n: "humidity", u: "%RH", v: 48.5, t: 60 },
  { n: "door-open", vb: false, t: 60 },
];

const SENML_RECORDS: Rec[] = [
  { variable: "door_open", value: false, time: "2011-10-31T16:28:09.000Z", group: "urn:dev:ow:10e2073a01080063", metadata: { senml_name: "urn:dev:ow:10e2073a01080063:door-open" } },
  { variable: "humidity", value: 48.5, unit: "%RH", time: "2011-10-31T16:28:09.000Z", group: "urn:dev:ow:10e2073a01080063", metadata: { senml_name: "urn:dev:ow:10e2073a01080063:humidity" } },
  { variable: "temp", value: 21, unit: "Cel", time: "2011-10-31T16:27:09.000Z", group: "urn:dev:ow:10e2073a01080063", metadata: { senml_name: "urn:dev:ow:10e2073a01080063:temp" } },
];

/** A tracker's flat object: one record per key, grouped by the IMEI (kept in metadata too), time from `ts`. */
const FLAT_PARSER = `
const raw = payload.find((r) => r.variable === "payload");
const data = raw ? JSON.parse(raw.value) : payload[0];
const imei = String(data.IMEI);
const time = new Date(data.ts * 1000).toISOString();
const units = { battery: "V", temperature: "°C", rssi: "dBm" };
payload = Object.keys(data)
  .filter((key) => key !== "IMEI" && key !== "ts")
  .map((key) => ({ variable: key.toLowerCase(), value: data[key], group: imei, time, metadata: { imei }, ...(units[key] ? { unit: units[key] } : {}) }));
`;

const FLAT = { IMEI: "356938035643809", ts: 1717243200, battery: 3.59, temperature: 24.1, rssi: -71, moving: true };

const FLAT_RECORDS: Rec[] = [
  { variable: "battery", value: 3.59, unit: "V", group: "356938035643809", time: "2024-06-01T12:00:00.000Z", metadata: { imei: "356938035643809" } },
  { variable: "moving", value: true, group: "356938035643809", time: "2024-06-01T12:00:00.000Z", metadata: { imei: "356938035643809" } },
  { variable: "rssi", value: -71, unit: "dBm", group: "356938035643809", time: "2024-06-01T12:00:00.000Z", metadata: { imei: "356938035643809" } },
  { variable: "temperature", value: 24.1, unit: "°C", group: "356938035643809", time: "2024-06-01T12:00:00.000Z", metadata: { imei: "356938035643809" } },
];

const withTopic = (records: Rec[], topic: string) => records.map((r) => ({ ...r, metadata: { ...r.metadata, topic } }));

const cases = [
  { name: "a SenML pack", script: SENML_PARSER, sample: SENML, records: SENML_RECORDS, topicInOutput: true },
  { name: "a flat vendor object", script: FLAT_PARSER, sample: FLAT, records: FLAT_RECORDS, topicInOutput: false },
];

describe("POST /device/:id/parser/test, door http: the sample as a POST /data body", () => {
  for (const { name, script, sample, records } of cases) {
    test(`${name}: the emulator's records are the ones POST /data stores`, async () => {
      const dev = await sluice.device();
      // Tried before it is saved: the device has no parser yet.
      const tried = await emulate(dev.deviceId, { script, door: "http", body: sample });
      assert.deepEqual(sorted(tried.records), records);

      await saveParser(dev.deviceId, script);
      // The device's own parser by default, same answer.
      assert.deepEqual(sorted((await emulate(dev.deviceId, { door: "http", body: sample })).records), records);
      const posted = await call("POST", "/data", dev.token, sample);
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      assert.equal(posted.body.result, `${records.length} Data Added`);
      assert.deepEqual(await stored(dev.token), sorted(tried.records));
    });
  }

  test("the parser sees the body as POST /data hands it: an array as is, an object as a list of one, no topic", async () => {
    const dev = await sluice.device();
    const script = `payload = [{ variable: "seen", value: JSON.stringify(payload) }];`;
    const array = await emulate(dev.deviceId, { script, door: "http", body: [{ variable: "a", value: 1 }] });
    assert.deepEqual(array.records, [{ variable: "seen", value: '[{"variable":"a","value":1}]' }]);
    const object = await emulate(dev.deviceId, { script, door: "http", body: { variable: "a", value: 1 } });
    assert.deepEqual(object.records, [{ variable: "seen", value: '[{"variable":"a","value":1}]' }]);
    const scalar = await emulate(dev.deviceId, { script, door: "http", body: null });
    assert.deepEqual(scalar.records, [{ variable: "seen", value: "[null]" }]);
  });

  test("console lines and failures come through as on the MQTT door", async () => {
    const dev = await sluice.device();
    const { logs } = await emulate(dev.deviceId, { script: SENML_PARSER, door: "http", body: SENML });
    assert.deepEqual(logs, [{ level: "log", message: "senml urn:dev:ow:10e2073a01080063: 3" }]);
    const failed = await account("POST", `/device/${dev.deviceId}/parser/test`, { script: "throw new Error('no IMEI');", door: "http", body: FLAT });
    assert.equal(failed.status, 400);
    assert.deepEqual(failed.body, { status: false, message: "Error: no IMEI", result: { kind: "exception", logs: [], line: 1 } });
  });
});

describe("POST /device/:id/parser/test, door mqtt: the sample as published on a topic", () => {
  for (const { name, script, sample, records, topicInOutput } of cases) {
    test(`${name}: raw text in the payload record; the emulator's records are the ones a publish stores`, async () => {
      const dev = await sluice.device();
      const topic = "vendor/uplink";
      const expected = topicInOutput ? withTopic(records, topic) : records;
      const text = JSON.stringify(sample);
      // The door by default, and named: the same records.
      const tried = await emulate(dev.deviceId, { script, payload: text, topic });
      assert.deepEqual(sorted(tried.records), expected);
      assert.deepEqual(sorted((await emulate(dev.deviceId, { script, door: "mqtt", payload: sample, topic })).records), expected);

      await saveParser(dev.deviceId, script);
      await storeTopic(dev.deviceId, topic);
      const client = await sluice.connect({ username: "Token", password: dev.token });
      await client.publishAsync(topic, text, { qos: 1 }); // acknowledged means stored
      assert.deepEqual(await stored(dev.token), sorted(tried.records));
    });
  }

  test("records in the data format keep their records with metadata.topic, as documented", async () => {
    const dev = await sluice.device();
    const { records } = await emulate(dev.deviceId, { script: "payload = payload;", door: "mqtt", payload: [{ variable: "a", value: 1 }], topic: "t/1" });
    assert.deepEqual(records, [{ variable: "a", value: 1, metadata: { topic: "t/1" } }]);
  });
});

describe("POST /device/:id/parser/test: ill-typed and oversize requests", () => {
  let deviceId: string;
  before(async () => {
    ({ deviceId } = await sluice.device());
  });

  async function refused(request: unknown, message: RegExp): Promise<void> {
    const { status, body } = await account("POST", `/device/${deviceId}/parser/test`, request);
    assert.equal(status, 400, JSON.stringify(request).slice(0, 200));
    assert.equal(body.status, false);
    assert.match(String(body.message), message);
  }

  const script = "payload = [];";

  test("an unknown door", async () => {
    await refused({ script, door: "coap", payload: "x" }, /door must be equal to one of the allowed values/);
    await refused({ script, door: "coap", body: {} }, /door must be equal to one of the allowed values/);
    await refused({ script, door: { http: true }, body: {} }, /door must be/);
  });

  test("each door's sample field, and only it", async () => {
    await refused({ script, door: "http" }, /must have required property 'body'/);
    await refused({ script, door: "http", payload: "x" }, /must have required property 'body'/);
    await refused({ script, door: "http", body: {}, payload: "x" }, /^body\/payload is for door "mqtt"; door "http" takes its sample as `body`$/);
    await refused({ script, door: "http", body: {}, topic: "a/b" }, /^body\/topic is for door "mqtt"/);
    await refused({ script, door: "mqtt", body: {} }, /must have required property 'payload'/);
    await refused({ script, payload: "x", body: {} }, /^body\/body is for door "http"; door "mqtt" \(the default\) takes its sample as `payload`$/);
    await refused({ script, door: "mqtt", payload: "x", topic: "" }, /topic/);
  });

  test("a body larger than POST /data accepts", async () => {
    const body = [{ variable: "blob", value: "x".repeat(DATA_BODY_LIMIT) }];
    await refused({ script, door: "http", body }, new RegExp(`POST /data accepts at most ${DATA_BODY_LIMIT}`));
    // ... which POST /data itself refuses too.
    const dev = await sluice.device();
    const posted = await call("POST", "/data", dev.token, body);
    assert.equal(posted.status, 413);
  });

  test("a request that is not an object", async () => {
    await refused([{ door: "http", body: {} }], /body must be object/);
    await refused("door=http", /body must be object/);
  });
});

// Review of issue 11: JSON.parse nests as deep as its input, JSON.stringify recurses. A sample
// nested ~5 000 levels deep (a 10 kB body) ran the host out of stack: 500 "Internal server
// error" from the emulator (either door, or a parser whose output nested that deep), from a real
// POST /data to a device with a parser, and PUBACK 0x83 over MQTT. Now each is the parser's
// 400 (`invalid_input` / `invalid_output`), or 0x99 over MQTT, and the server answers on.
describe("samples and outputs nested deeper than the sandbox takes", () => {
  const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  async function raw(path: string, token: string, text: string): Promise<Answer> {
    const response = await fetch(`${sluice.api}${path}`, { method: "POST", headers: { "content-type": "application/json", token }, body: text });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  test("the emulator, either door: 400 invalid_input, never a 500", async () => {
    const dev = await sluice.device();
    await saveParser(dev.deviceId, "payload = payload;");
    for (const levels of [101, 5000, 90000]) {
      for (const sample of [`"door":"http","body":${deep(levels)}`, `"door":"mqtt","payload":[{"variable":"v","value":${deep(levels)}}]`]) {
        const { status, body } = await raw(`/device/${dev.deviceId}/parser/test`, sluice.adminToken, `{${sample}}`);
        assert.equal(status, 400, `${levels}: ${JSON.stringify(body)}`);
        assert.equal((body.result as { kind: string }).kind, "invalid_input");
      }
    }
    // 100 levels, the outer list included, still run.
    const ok = await raw(`/device/${dev.deviceId}/parser/test`, sluice.adminToken, `{"door":"http","body":${deep(99)}}`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test("a parser whose output nests too deep: 400 invalid_output, never a 500", async () => {
    const dev = await sluice.device();
    for (const levels of [200, 6000]) {
      const script = `let a = []; for (let i = 0; i < ${levels}; i++) a = [a]; payload = a;`;
      const { status, body } = await account("POST", `/device/${dev.deviceId}/parser/test`, { door: "http", body: [], script });
      assert.equal(status, 400, `${levels}: ${JSON.stringify(body)}`);
      assert.equal((body.result as { kind: string }).kind, "invalid_output");
    }
  });

  test("POST /data and an MQTT publish to a device with a parser: 400 and PUBACK 0x99", async () => {
    const dev = await sluice.device();
    await saveParser(dev.deviceId, "payload = payload;");
    await storeTopic(dev.deviceId, "deep/#");
    const posted = await raw("/data", dev.token, `[{"variable":"v","value":${deep(20000)}}]`);
    assert.equal(posted.status, 400, JSON.stringify(posted.body));
    const client = await sluice.connect({ username: "Token", password: dev.token, protocolVersion: 5 });
    // MQTT.js fails a publish whose PUBACK carries an error reason code, with that code.
    const reason = await new Promise<number>((resolve) =>
      client.publish("deep/x", `[{"variable":"v","value":${deep(20000)}}]`, { qos: 1 }, (err) => resolve((err as { code?: number } | undefined)?.code ?? 0)),
    );
    assert.equal(reason, 0x99);
    await client.endAsync();
  });
});
