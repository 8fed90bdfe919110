import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { call, consoleLine, consoleOf, createAnalysis, resourcesOf, waitFor } from "../helpers/analysis.js";
import { openStream } from "../helpers/sse_client.js";

// The /analysis API through the SDK's Resources.analysis, and simple runs of run mode "sluice".

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice();
});
after(async () => {
  await sluice.close();
});

describe("/analysis CRUD through Resources.analysis", () => {
  test("create, info, list, edit, delete; run_on tago is sluice; the token is shown", async () => {
    const resources = resourcesOf(sluice);
    const created = await resources.analysis.create({ name: "crud", run_on: "tago", tags: [{ key: "k", value: "v" }] });
    assert.match(created.id, /^[0-9a-f]{24}$/);
    assert.match(created.token, /^[0-9a-f-]{36}$/);
    const info = await resources.analysis.info(created.id);
    assert.equal(info.name, "crud");
    assert.equal(info.run_on as string, "sluice");
    assert.equal(info.token, created.token);
    assert.deepEqual(info.tags, [{ key: "k", value: "v" }]);
    assert.ok(info.created_at instanceof Date);
    assert.equal(await resources.analysis.edit(created.id, { name: "crud 2", run_on: "external", variables: [{ key: "A", value: "1" }] as never }), "Successfully Updated");
    const edited = await resources.analysis.info(created.id);
    assert.equal(edited.name, "crud 2");
    assert.equal(edited.run_on, "external");
    assert.deepEqual(edited.variables, [{ key: "A", value: "1" }]);
    const list = await resources.analysis.list({ fields: ["id", "name", "run_on"], filter: { name: "crud*" } });
    assert.deepEqual(list.map((a) => [a.id, a.name, a.run_on]), [[created.id, "crud 2", "external"]]);
    // The analysis token is an account token of the account: Resources work with it.
    assert.ok((await resourcesOf(sluice, created.token).analysis.info(created.id)).id);
    assert.equal(await resources.analysis.delete(created.id), "Successfully Removed");
    await assert.rejects(resources.analysis.info(created.id), (e) => /not found/.test(String(e)));
    // Deleting the analysis revoked its token.
    assert.equal((await call(sluice, "GET", "/analysis", undefined, created.token)).status, 401);
  });

  test("invalid input is refused naming the field; another account cannot see the analysis", async () => {
    assert.match((await call(sluice, "POST", "/analysis", { name: "" })).body.message, /name/);
    assert.match((await call(sluice, "POST", "/analysis", { name: "x", run_on: "mars" })).body.message, /run_on/);
    assert.match((await call(sluice, "POST", "/analysis", { name: "x", variables: [{ key: "" }] })).body.message, /variables\[0\]\.key/);
    const { id } = await resourcesOf(sluice).analysis.create({ name: "mine" });
    const other = await sluice.server.identity.createAccount("other");
    assert.equal((await call(sluice, "GET", `/analysis/${id}`, undefined, other.token)).status, 404);
  });

  test("tokenGenerate replaces the analysis token", async () => {
    const resources = resourcesOf(sluice);
    const { id, token } = await resources.analysis.create({ name: "tok" });
    const { analysis_token } = await resources.analysis.tokenGenerate(id);
    assert.notEqual(analysis_token, token);
    assert.equal((await resources.analysis.info(id)).token, analysis_token);
    assert.equal((await call(sluice, "GET", "/analysis", undefined, token)).status, 401);
    assert.equal((await call(sluice, "GET", "/analysis", undefined, analysis_token)).status, 200);
  });

  test("running needs a script; an upload must be base64 of something", async () => {
    const { id } = await resourcesOf(sluice).analysis.create({ name: "empty" });
    assert.match((await call(sluice, "POST", `/analysis/${id}/run`, { scope: [] })).body.message, /no script/);
    assert.match((await call(sluice, "POST", `/analysis/${id}/upload`, { file_name: "a.js" })).body.message, /file is required/);
  });
});

describe("run mode sluice", () => {
  test("a CJS analysis using the SDK gets context and scope; its output reaches the console (HTTP and SSE)", async () => {
    const resources = resourcesOf(sluice);
    const code = `
      const { Analysis } = require("@tago-io/sdk");
      Analysis.use(async (context, scope) => {
        context.log("env", JSON.stringify(context.environment), "id", context.analysis_id === process.env.T_ANALYSIS_ID);
        context.log("scope", JSON.stringify(scope));
        console.error("on stderr");
      });`;
    const { id } = await createAnalysis(resources, code, { variables: [{ key: "GREETING", value: "hi" }] });
    const stream = await openStream(`${sluice.api}/events?channels=analysis_console.${id}&token=${sluice.adminToken}`);
    try {
      const { analysis_token } = await resources.analysis.run(id, [{ variable: "t", value: 1 }]);
      assert.equal(analysis_token, (await resources.analysis.info(id)).token);
      const lines = await consoleLine(sluice, id, /on stderr/);
      assert.ok(lines.some((l) => l.message === 'env [{"key":"GREETING","value":"hi"}] id true'), JSON.stringify(lines));
      assert.ok(lines.some((l) => l.message === 'scope [{"variable":"t","value":1}]'));
      assert.ok(!Number.isNaN(Date.parse(lines[0]!.timestamp)));
      const event = JSON.parse((await stream.next(5000)).data) as { channel: string; payload: { analysis_id: string; message: string } };
      assert.equal(event.channel, "analysis_console");
      assert.equal(event.payload.analysis_id, id);
      assert.ok(typeof event.payload.message === "string");
    } finally {
      stream.close();
    }
    assert.ok((await resources.analysis.info(id)).last_run instanceof Date);
    assert.equal((await call(sluice, "DELETE", `/analysis/${id}/logs`)).status, 200);
    assert.deepEqual(await consoleOf(sluice, id), []);
  });

  test("an ESM analysis imports the SDK too, and context.token works for Resources", async () => {
    const code = `
      import sdk from "@tago-io/sdk";
      sdk.Analysis.use(async (context) => {
        const resources = new sdk.Resources({ token: context.token });
        const me = await resources.analysis.info(context.analysis_id);
        console.log("I am", me.name);
      });`;
    const { id } = await createAnalysis(resourcesOf(sluice), code, { name: "esm one", fileName: "index.mjs" });
    await resourcesOf(sluice).analysis.run(id);
    await consoleLine(sluice, id, /^I am esm one$/);
  });

  test("a script that throws ends with its error and a non-zero exit in the console", async () => {
    const { id } = await createAnalysis(resourcesOf(sluice), `throw new Error("boom");`);
    await resourcesOf(sluice).analysis.run(id);
    const lines = await consoleLine(sluice, id, /exit code 1/);
    assert.ok(lines.some((l) => /Error: boom/.test(l.message)));
    await waitFor(async () => (await call(sluice, "GET", "/analysis/runs")).body.result.length === 0);
  });
});
