import assert from "node:assert/strict";
import { ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Issue 10: "1 000 inspector streams on one token: none refused; publishing 100× slower (55 ms →
// 5.4 s per 1 000 messages)". Reproduced at a smaller scale: a per-account cap
// (inspector.maxStreamsPerAccount), and streams fed off the publish path: each event serialized
// once, written to each stream once per tick with that tick's other events.

const CAP = 40;
/** How long another account's MQTT round trip may take while the streams are fed. */
const BYSTANDER_MS = 3000;

/** An open SSE response, counting the inspector events it has received. */
interface OpenStream {
  status: number;
  events: () => number;
  close: () => void;
}

describe("inspector streams under abuse", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ inspector: { ...defaultConfig.inspector, maxStreamsPerAccount: CAP, maxStreamBufferedBytes: 1024 * 1024 } });
  });
  after(() => sluice.close());

  async function open(deviceId: string, token = sluice.adminToken): Promise<OpenStream> {
    const controller = new AbortController();
    const response = await fetch(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0&kinds=message_in`, { headers: { token }, signal: controller.signal });
    let count = 0;
    let body = "";
    if (response.status === 200) {
      void (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of response.body!) {
            body += decoder.decode(chunk as Uint8Array, { stream: true });
            const lines = body.split("\n");
            body = lines.pop()!;
            count += lines.filter((line) => line.startsWith("id: ")).length;
          }
        } catch {
          // aborted
        }
      })();
    } else {
      body = await response.text();
    }
    return { status: response.status, events: () => count, close: () => controller.abort(), ...(response.status === 200 ? {} : { body }) } as OpenStream & { body?: string };
  }

  test(`the ${CAP + 1}th stream of an account is refused with 429 JSON; other accounts are not affected; closing one frees a slot`, async () => {
    const { deviceId } = await sluice.device();
    const streams = await Promise.all(Array.from({ length: CAP }, () => open(deviceId)));
    try {
      assert.deepEqual(new Set(streams.map((s) => s.status)), new Set([200]));
      const refused = (await open(deviceId)) as OpenStream & { body: string };
      assert.equal(refused.status, 429);
      const body = JSON.parse(refused.body) as { status: boolean; message: string };
      assert.equal(body.status, false);
      assert.match(body.message, new RegExp(`at most ${CAP} \\(inspector\\.maxStreamsPerAccount\\)`));

      // Another account has its own count.
      const otherAccount = await sluice.account();
      const other = await sluice.device({ accountId: otherAccount });
      const token = await sluice.server.identity.createAccountToken(otherAccount, "t");
      const theirs = await open(other.deviceId, token);
      assert.equal(theirs.status, 200);
      theirs.close();

      streams.pop()!.close();
      const again = await until(async () => {
        const s = await open(deviceId);
        if (s.status === 200) return s;
        return undefined;
      });
      streams.push(again);
    } finally {
      for (const s of streams) s.close();
    }
  });

  test(`${CAP} streams on one device while it publishes 1 000 messages: each event serialized once, writes per tick, not per event`, async () => {
    const dev = await sluice.device();
    // Streams released by the previous test close asynchronously.
    const streams = await until(async () => {
      const list = await Promise.all(Array.from({ length: CAP }, () => open(dev.deviceId)));
      if (list.every((s) => s.status === 200)) return list;
      for (const s of list) s.close();
      return undefined;
    });
    const publisher = await sluice.connect({ username: "Token", password: dev.token });
    const messages = 1000;

    // Counters of the work the events cost, taken in this process (the server runs here).
    let serialized = 0;
    let sseWrites = 0;
    const stringify = JSON.stringify;
    const write = ServerResponse.prototype.write;
    JSON.stringify = function (this: unknown, ...args: Parameters<typeof stringify>) {
      const value = args[0] as { device_id?: unknown; kind?: unknown } | null;
      if (value && typeof value === "object" && value.kind === "message_in" && value.device_id === dev.deviceId) serialized++;
      return stringify.apply(this, args);
    } as typeof JSON.stringify;
    ServerResponse.prototype.write = function (this: ServerResponse, ...args: unknown[]) {
      if (String(this.getHeader("content-type")).startsWith("text/event-stream")) sseWrites++;
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof write;
    // A client of another account, served while the streams are fed: its round trip within
    // BYSTANDER_MS (the stated bound: a deadline for a loaded machine, not a measurement).
    const other = await sluice.device({ accountId: await sluice.account() });
    const bystander = await sluice.connect({ username: "Token", password: other.token });
    await bystander.subscribeAsync("echo", { qos: 1 });
    try {
      for (let i = 0; i < messages; i++) publisher.publish("up", `m${i}`, { qos: 0 });
      const echoed = new Promise<void>((resolve) => bystander.once("message", () => resolve()));
      await bystander.publishAsync("echo", "ping", { qos: 1 });
      await Promise.race([echoed, new Promise((_, reject) => setTimeout(() => reject(new Error(`another account's round trip took over ${BYSTANDER_MS} ms`)), BYSTANDER_MS))]);
      await until(async () => (streams.every((s) => s.events() >= messages) ? true : undefined), 20_000);
    } finally {
      JSON.stringify = stringify;
      ServerResponse.prototype.write = write;
      for (const s of streams) s.close();
    }
    assert.deepEqual(new Set(streams.map((s) => s.events())), new Set([messages]), "every stream got every event, once");
    assert.equal(serialized, messages, `each event serialized once, not once per stream (${CAP} streams)`);
    // Per event and stream this would be CAP × messages = 40 000 writes.
    assert.ok(sseWrites <= (CAP * messages) / 4, `${sseWrites} writes to ${CAP} streams for ${messages} events: a tick's events go in one write`);
  });
});
