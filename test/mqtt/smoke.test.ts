import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(() => sluice.close());

test("a device publishes and another device of the same account receives it", async () => {
  const a = await sluice.device();
  const b = await sluice.device();
  const sub = await sluice.connect({ username: "Token", password: b.token, protocolVersion: 5 });
  await sub.subscribeAsync("sensors/#", { qos: 1 });
  const pub = await sluice.connect({ username: "Token", password: a.token });
  const got = nextMessages(sub);
  await pub.publishAsync("sensors/t1", "21.5", { qos: 1 });
  const [m] = await got;
  assert.equal(m!.topic, "sensors/t1");
  assert.equal(m!.payload, "21.5");
});
