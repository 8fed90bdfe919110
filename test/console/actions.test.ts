import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import type { ActionJson, DeadLetterJson } from "../../src/http/api_types.js";
import { defaultConfig } from "../../src/config/schema.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn, type ConsolePage } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook_sink.js";

// The Actions pages in a real browser: every trigger kind and every action type has a form; what
// is entered there is what the API stores (read back through the API); a wrong form gets the
// API's own error; the list activates, deactivates and deletes; a webhook's dead letters.

const run = promisify(execFile);
let sluice: TestSluice;
let browser: Browser;
let device: { deviceId: string; token: string };
let sink: WebhookSink;
let c: ConsolePage;

before(async () => {
  sluice = await startSluice({ webhooks: { ...defaultConfig.webhooks, attempts: 1 } });
  browser = await launchBrowser();
  device = await sluice.device();
  sink = await startWebhookSink();
  c = await openConsole(browser, sluice.api);
  c.page.setDefaultTimeout(10_000);
  await signIn(c.page, sluice);
});
after(async () => {
  await c?.context.close();
  await browser?.close();
  await sink?.close();
  await sluice?.close();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token: sluice.adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await response.json()) as { status: boolean; result: T; message?: string };
  if (!envelope.status) throw new Error(envelope.message);
  return envelope.result;
}

/** Opens the new-action form and names the action. */
async function newAction(name: string): Promise<Page> {
  const { page } = c;
  await page.goto(`${sluice.api}/#/actions/new`);
  // A fresh form, even when the previous test left the page on this same address.
  await page.reload();
  await page.getByRole("textbox", { name: "Name", exact: true }).fill(name);
  return page;
}

/** Submits the form; the created action as the API reads it back. */
async function create(page: Page): Promise<ActionJson> {
  await page.getByRole("button", { name: "Create action" }).click();
  await page.waitForURL(/#\/actions\/[0-9a-f]{24}$/);
  const id = /actions\/([0-9a-f]{24})$/.exec(page.url())![1]!;
  return api<ActionJson>("GET", `/action/${id}`);
}

const trigger = (page: Page, kind: string) => page.getByRole("combobox", { name: "Trigger" }).selectOption(kind);
const doing = (page: Page, type: string) => page.getByRole("combobox", { name: "Action" }).selectOption(type);
const field = (scope: Page | ReturnType<Page["getByRole"]>, label: string) => scope.getByLabel(label, { exact: true });
/** A <select> by its label (getByLabel would read the options' text into the label). */
const choice = (scope: Page | ReturnType<Page["getByRole"]>, label: string) => scope.getByRole("combobox", { name: label, exact: true });

describe("action forms: each trigger kind and action type, as the API stores them", () => {
  test("mqtt_topic (devices by tag) → insert_bucket", async () => {
    const page = await newAction("store tagged");
    await field(page, "Topic filter").fill("t/#");
    await page.getByRole("radio", { name: "Every device with a tag" }).check();
    await field(page, "Tag key").fill("site");
    await field(page, "Tag value").fill("a");
    await doing(page, "insert_bucket");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, "action-new");
    const action = await create(page);
    assert.equal(action.type, "mqtt_topic");
    assert.deepEqual(action.trigger, [{ topic: "t/#", tag_key: "site", tag_value: "a" }]);
    assert.deepEqual(action.action, { type: "insert_bucket" });
  });

  test("condition with an unlock row and trigger_when_unlock → notification", async () => {
    const page = await newAction("too hot");
    await trigger(page, "condition");
    const cond = page.getByRole("group", { name: "Condition 1" });
    await field(cond, "Device").fill(device.deviceId);
    await field(cond, "Variable").fill("temp");
    await choice(cond, "Is").selectOption(">");
    await field(cond, "Value").fill("30");
    await page.getByRole("button", { name: "Add an unlock condition" }).click();
    const unlock = page.getByRole("group", { name: "Unlock condition 1" });
    await field(unlock, "Device").fill(device.deviceId);
    await field(unlock, "Variable").fill("temp");
    await choice(unlock, "Is").selectOption("><");
    await field(unlock, "From").fill("0");
    await field(unlock, "To").fill("25");
    await page.getByRole("checkbox", { name: "Also run the action when it unlocks" }).check();
    await doing(page, "notification");
    await field(page, "Title (empty: the action's name)").fill("Too hot");
    await field(page, "Message").fill("$DEVICE_NAME$: $VALUE$");
    await screenshot(page, "action-condition");
    const action = await create(page);
    assert.equal(action.type, "condition");
    assert.deepEqual(action.trigger, [
      { device: device.deviceId, variable: "temp", is: ">", value: "30", value_type: "number", unlock: false },
      { device: device.deviceId, variable: "temp", is: "><", value: "0", second_value: "25", value_type: "number", unlock: true },
    ]);
    assert.equal(action.trigger_when_unlock, true);
    assert.deepEqual(action.action, { type: "notification", subject: "Too hot", message: "$DEVICE_NAME$: $VALUE$" });
  });

  test("interval → post (webhook with a header)", async () => {
    const page = await newAction("ping");
    await trigger(page, "interval");
    await field(page, "Interval").fill("10 minutes");
    await doing(page, "post");
    await field(page, "URL").fill("https://example.com/hook?d=$DEVICE_ID$");
    await page.getByRole("button", { name: "Add header" }).click();
    await field(page, "Header 1").fill("X-Key");
    await field(page, "Value 1").fill("abc");
    const action = await create(page);
    assert.deepEqual(action.trigger, [{ interval: "10 minutes" }]);
    assert.deepEqual(action.action, { type: "post", url: "https://example.com/hook?d=$DEVICE_ID$", headers: { "X-Key": "abc" } });
  });

  test("schedule (cron and time zone) → email", async () => {
    const page = await newAction("morning mail");
    await trigger(page, "schedule");
    await field(page, "Cron expression").fill("0 8 * * 1-5");
    await field(page, "Time zone").fill("Europe/Zurich");
    await doing(page, "email");
    await field(page, "To").fill("ops@example.com, boss@example.com");
    await field(page, "Subject").fill("Morning");
    await field(page, "Message").fill("Good morning");
    const action = await create(page);
    assert.deepEqual(action.trigger, [{ cron: "0 8 * * 1-5", timezone: "Europe/Zurich" }]);
    assert.deepEqual(action.action, { type: "email", to: "ops@example.com, boss@example.com", subject: "Morning", message: "Good morning" });
  });

  test("mqtt_connect (one device) → mqtt publish to that device only", async () => {
    const page = await newAction("greet");
    await trigger(page, "mqtt_connect");
    await field(page, "Device").fill(device.deviceId);
    await doing(page, "mqtt");
    await field(page, "Topic").fill("hello/$DEVICE_ID$");
    await field(page, "Payload").fill("hi");
    await choice(page, "QoS").selectOption("1");
    await page.getByRole("checkbox", { name: "Retain" }).check();
    await field(page, "Only to this device (optional)").fill(device.deviceId);
    const action = await create(page);
    assert.deepEqual(action.trigger, [{ device: device.deviceId }]);
    assert.deepEqual(action.action, { type: "mqtt", topic: "hello/$DEVICE_ID$", payload: "hi", qos: 1, retain: true, bucket: device.deviceId });
  });

  test("mqtt_disconnect (devices by tag) → script (an analysis chosen from the list)", async () => {
    const analysis = await api<{ id: string }>("POST", "/analysis", { name: "cleanup" });
    const page = await newAction("on disconnect");
    await trigger(page, "mqtt_disconnect");
    await page.getByRole("radio", { name: "Every device with a tag" }).check();
    await field(page, "Tag key").fill("fleet");
    await field(page, "Tag value").fill("north");
    await doing(page, "script");
    await page.getByRole("checkbox", { name: /cleanup/ }).check();
    const action = await create(page);
    assert.equal(action.type, "mqtt_disconnect");
    assert.deepEqual(action.trigger, [{ tag_key: "fleet", tag_value: "north" }]);
    assert.deepEqual(action.action, { type: "script", script: [analysis.id] });
  });

  test("usage_alert (two rows) → notification without a title", async () => {
    const page = await newAction("quota");
    await trigger(page, "usage_alert");
    const first = page.getByRole("group", { name: "Alert 1" });
    await choice(first, "Limit").selectOption("email");
    await choice(first, "When use").selectOption("=");
    await field(first, "Percent of the limit").fill("90");
    await page.getByRole("button", { name: "Add an alert" }).click();
    await field(page.getByRole("group", { name: "Alert 2" }), "Percent of the limit").fill("50.5");
    await doing(page, "notification");
    await field(page, "Message").fill("Usage is high");
    const action = await create(page);
    assert.deepEqual(action.trigger, [
      { service_or_resource: "email", condition: "=", condition_value: 90 },
      { service_or_resource: "data_records", condition: ">", condition_value: 50.5 },
    ]);
    assert.deepEqual(action.action, { type: "notification", message: "Usage is high" });
  });

  test("editing reads the action back into its forms and saves changes", async () => {
    const { page } = c;
    const [one] = (await api<ActionJson[]>("GET", "/action?filter[name]=greet"));
    await page.goto(`${sluice.api}/#/actions/${one!.id}`);
    assert.equal(await field(page, "Topic").inputValue(), "hello/$DEVICE_ID$");
    assert.equal(await field(page, "Device").inputValue(), device.deviceId);
    await page.getByText(`Device: ${(await api<{ name: string }>("GET", `/device/${device.deviceId}`)).name}`).first().waitFor();
    await field(page, "Payload").fill("hello again");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Successfully Updated" }).waitFor();
    assert.equal((await api<ActionJson>("GET", `/action/${one!.id}`)).action.payload, "hello again");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, "action-edit");
  });
});

describe("a wrong form gets the API's error, as the API words it", () => {
  const refused = async (page: Page, message: string) => {
    await page.getByRole("button", { name: "Create action" }).click();
    await page.getByRole("alert").filter({ hasText: `${message} (HTTP 400)` }).waitFor();
    assert.match(page.url(), /#\/actions\/new$/);
  };

  test("no name; a topic filter MQTT refuses; a webhook URL that is not http; a percentage over 100", async () => {
    const page = await newAction("");
    await field(page, "Topic filter").fill("a/b");
    await field(page, "Device").fill(device.deviceId);
    await refused(page, "name is required");
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("bad");
    await field(page, "Topic filter").fill("a/#/b");
    await refused(page, "trigger[0].topic must be a valid MQTT topic filter");
    await field(page, "Topic filter").fill("a/b");
    await doing(page, "post");
    await field(page, "URL").fill("ftp://example.com/x");
    await refused(page, "action.url must be an http:// or https:// URL");
    await trigger(page, "usage_alert");
    await field(page, "Percent of the limit").fill("150");
    await refused(page, "trigger[0].condition_value must be a percentage above 0 and at most 100");
    await trigger(page, "schedule");
    await field(page, "Cron expression").fill("not a cron");
    await doing(page, "insert_bucket");
    await page.getByRole("button", { name: "Create action" }).click();
    await page.getByRole("alert").filter({ hasText: /^trigger\[0\]: .+\(HTTP 400\)$/ }).waitFor();
    await screenshot(page, "action-error");
  });
});

describe("the actions list", () => {
  test("lists every action with its trigger, what it does and its last run; activates, deactivates and deletes", async () => {
    const { page } = c;
    await page.goto(`${sluice.api}/#/actions`);
    const table = page.getByRole("table");
    await table.getByRole("link", { name: "too hot" }).waitFor();
    const row = table.getByRole("row").filter({ hasText: "too hot" });
    assert.match((await row.textContent()) ?? "", /Variable condition.*Notify in the app.*never/);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, "actions-light");

    await row.getByRole("checkbox", { name: "too hot is active" }).uncheck();
    await page.getByRole("status").filter({ hasText: "Successfully Updated" }).waitFor();
    const [tooHot] = await api<ActionJson[]>("GET", "/action?filter[name]=too hot");
    assert.equal(tooHot!.active, false);

    await page.getByRole("searchbox", { name: "Search" }).fill("ping");
    await table.getByRole("row").filter({ hasText: "quota" }).waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Delete ping" }).click();
    await page.getByRole("dialog", { name: "Delete the action “ping”?" }).getByRole("button", { name: "Delete" }).click();
    await page.getByText("No action has such a name.").waitFor();
    assert.deepEqual(await api<ActionJson[]>("GET", "/action?filter[name]=ping"), []);

    for (const [name, width, dark] of [["actions-dark", 1280, true], ["actions-phone", 390, false]] as const) {
      // Signed in at a desktop width (the helper waits for the side navigation), then resized.
      const other = await openConsole(browser, sluice.api, { dark });
      other.page.setDefaultTimeout(10_000);
      await signIn(other.page, sluice);
      await other.page.setViewportSize({ width, height: 844 });
      await other.page.goto(`${sluice.api}/#/actions`);
      await other.page.getByRole("link", { name: "too hot" }).waitFor();
      await screenshot(other.page, name);
      assert.deepEqual(await seriousA11yViolations(other.page), []);
      assert.equal(await other.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0);
      await other.page.goto(`${sluice.api}/#/actions/new`);
      await other.page.getByRole("button", { name: "Create action" }).waitFor();
      await screenshot(other.page, `${name}-form`);
      assert.deepEqual(await seriousA11yViolations(other.page), []);
      assert.equal(await other.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0);
      assert.deepEqual(other.pageErrors, []);
      await other.context.close();
    }
  });

  test("a webhook action's dead letters: listed on its page with the failure, removed one by one", async () => {
    sink.respond = () => 404;
    const page = await newAction("hook");
    await field(page, "Topic filter").fill("hook");
    await field(page, "Device").fill(device.deviceId);
    await doing(page, "post");
    await field(page, "URL").fill(`${sink.url}/missing`);
    const action = await create(page);
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", device.token, "-q", "1", "-t", "hook", "-m", '{"variable":"x","value":1}']);
    await until(async () => ((await api<DeadLetterJson[]>("GET", `/action/${action.id}/dead_letters`)).length === 1 ? true : undefined));
    await page.getByRole("button", { name: "Refresh" }).click();
    const letters = page.getByRole("region", { name: "Dead letters" });
    await letters.getByText("HTTP 404").first().waitFor();
    await letters.getByText(`${sink.url}/missing`).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, "action-dead-letters");
    await letters.getByRole("button", { name: /^Remove the dead letter of / }).click();
    await letters.getByRole("status").filter({ hasText: "1 dead letter removed" }).waitFor();
    await letters.getByText("None.").waitFor();
    assert.deepEqual(await api("GET", `/action/${action.id}/dead_letters`), []);
    assert.deepEqual(c.pageErrors, []);
  });
});
