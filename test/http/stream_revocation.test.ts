import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { call, resourcesOf } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { openStream, type SseStreamClient } from "../helpers/sse_client.js";

// Security issue 9: an SSE stream lives no longer than the token that opened it. Revoking,
// regenerating, deleting (the analysis, the device) or expiry ends it within 1 s, through
// the same identity `revoked` events that end MQTT connections.

let sluice: TestSluice;
let accountId: string;

before(async () => {
  sluice = await startSluice();
  accountId = (await sluice.server.identity.authenticateAccount(sluice.adminToken))!;
});
after(() => sluice.close());

async function externalAnalysis(name = "runner"): Promise<{ id: string; token: string }> {
  return resourcesOf(sluice).analysis.create({ name, run_on: "external" } as never);
}

function events(channels: string, token: string): Promise<SseStreamClient> {
  return openStream(`${sluice.api}/events?channels=${channels}`, { token });
}

describe("GET /events with an analysis token", () => {
  test("regenerating the token ends the stream, so the next trigger (with the new token) never reaches it", async () => {
    const analysis = await externalAnalysis();
    const stream = await events("analysis_trigger", analysis.token);
    assert.equal(stream.status, 200);
    const renewed = await call(sluice, "GET", `/analysis/${analysis.id}/token`);
    assert.equal(renewed.status, 200);
    await stream.ended(1000);
    await call(sluice, "POST", `/analysis/${analysis.id}/run`, { scope: [] });
    assert.equal(stream.pending, 0);
    // The old token cannot open a new stream either.
    assert.equal((await call(sluice, "GET", "/events?channels=analysis_trigger", undefined, analysis.token)).status, 401);
  });

  test("deleting the analysis ends the stream", async () => {
    const analysis = await externalAnalysis();
    const stream = await events("analysis_trigger", analysis.token);
    assert.equal(stream.status, 200);
    assert.equal((await call(sluice, "DELETE", `/analysis/${analysis.id}`)).status, 200);
    await stream.ended(1000);
  });

  test("another analysis's analysis_trigger.<id> is refused with a 403; its own is accepted", async () => {
    const mine = await externalAnalysis("mine");
    const theirs = await externalAnalysis("theirs");
    const refused = await call(sluice, "GET", `/events?channels=analysis_trigger.${theirs.id}`, undefined, mine.token);
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /own analysis_trigger/);
    const own = await events(`analysis_trigger.${mine.id}`, mine.token);
    assert.equal(own.status, 200);
    await call(sluice, "POST", `/analysis/${mine.id}/run`, { scope: [{ variable: "x", value: 1 }] });
    const trigger = JSON.parse((await own.next()).data) as { channel: string; payload: { analysis_id: string } };
    assert.equal(trigger.payload.analysis_id, mine.id);
    own.close();
  });
});

describe("streams opened with an account token", () => {
  test("revoking the token through the profile API ends its /events and inspector streams, not other tokens' streams", async () => {
    const { row, token } = await sluice.server.identity.issueAccountToken(accountId, { name: "dashboard" });
    const { deviceId } = await sluice.device();
    const eventStream = await events("notification", token);
    const inspector = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { token });
    const bystander = await events("notification", sluice.adminToken);
    assert.equal(eventStream.status, 200);
    assert.equal(inspector.status, 200);
    const revoked = await call(sluice, "DELETE", `/profile/${accountId}/token/${row.id}`);
    assert.equal(revoked.status, 200);
    await eventStream.ended(1000);
    await inspector.ended(1000);
    await assert.rejects(bystander.ended(300), /still open/);
    bystander.close();
  });

  test("an expiring account token ends its streams at expiry", async () => {
    const { token } = await sluice.server.identity.issueAccountToken(accountId, { name: "short", expiresAt: new Date(Date.now() + 700) });
    const { deviceId } = await sluice.device();
    const eventStream = await events("notification", token);
    const inspector = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { token });
    assert.equal(eventStream.status, 200);
    assert.equal(inspector.status, 200);
    await assert.rejects(eventStream.ended(400), /still open/); // not before its time
    await eventStream.ended(1500);
    await inspector.ended(500);
    assert.equal((await call(sluice, "GET", "/events?channels=notification", undefined, token)).status, 401);
  });

  test("deleting the device ends its inspector stream", async () => {
    const { deviceId } = await sluice.device();
    const inspector = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { token: sluice.adminToken });
    assert.equal(inspector.status, 200);
    assert.equal((await call(sluice, "DELETE", `/device/${deviceId}`)).status, 200);
    await inspector.ended(1000);
  });
});
