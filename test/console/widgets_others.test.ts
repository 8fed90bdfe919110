import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import type { DataRecordJson } from "../../src/http/api_types.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { adminApi } from "../helpers/admin_api.js";
import { nextMessages, startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// Issue 13: the table, map, image, note, push button, switch, slider and input form widgets on a
// dashboard's page, in a real browser against a real Sluice, with a real MQTT client as the
// device receiving the controls' downlinks.

const TILE_HOST = "tile.openstreetmap.org";
const IMAGE_URL = "https://images.example.test/boiler.png";
// A 2×2 PNG (blue), served for IMAGE_URL by the test's own route: nothing leaves the machine.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGOQ9bsBRAwQCgAgdgUNo98pLgAAAABJRU5ErkJggg==", "base64");

/** Until `check` holds (the shared `until` waits for a defined value, and false is one). */
const eventually = (check: () => Promise<boolean>, ms = 10_000) => until(async () => ((await check()) ? true : undefined), ms);

const HOSTILE_NOTE = [
  "## Boiler room",
  "",
  "- check the **pressure**",
  "- [manual](https://example.com/manual)",
  "",
  "<script>window.__pwned = 'script'</script>",
  "",
  "[click me](javascript:window.__pwned='link')",
  "",
  '<img src="x" onerror="window.__pwned = \'onerror\'">',
  "",
  "![pic](javascript:window.__pwned='img')",
].join("\n");

describe("widgets: table, map, image, note, controls, form", () => {
  let sluice: TestSluice;
  let browser: Browser;
  let device: { deviceId: string; token: string };
  let tracker: { deviceId: string; token: string };
  let mqttClient: MqttClient;
  let dashboard: string;
  const widgets: Record<string, string> = {};

  const api = adminApi(() => sluice);
  const recordsOf = (deviceId: string, variable: string) => api<DataRecordJson[]>("GET", `/device/${deviceId}/data?variables=${variable}&qty=50`);

  before(async () => {
    sluice = await startSluice();
    browser = await launchBrowser();
    device = await sluice.device();
    tracker = await sluice.device();
    mqttClient = await sluice.connect({ username: "Token", password: device.token });
    await mqttClient.subscribeAsync("cmd/#", { qos: 1 });

    const base = Date.parse("2026-01-01T00:00:00Z");
    await api("POST", `/device/${device.deviceId}/data`, [
      ...Array.from({ length: 25 }, (_, i) => ({ variable: "temperature", value: i, unit: "°C", time: new Date(base + i * 60_000).toISOString() })),
      { variable: "pump", value: false, time: new Date(base).toISOString() },
      { variable: "setpoint", value: 20, time: new Date(base).toISOString() },
    ]);
    // A short drive along the Tagus: [lng, lat] as GeoJSON has it.
    await api("POST", `/device/${tracker.deviceId}/data`, [
      [-9.14, 38.71], [-9.13, 38.705], [-9.12, 38.7], [-9.11, 38.698],
    ].map(([lng, lat], i) => ({ variable: "position", value: i, location: { type: "Point", coordinates: [lng, lat] }, time: new Date(base + i * 60_000).toISOString() })));

    dashboard = (await api<{ dashboard: string }>("POST", "/dashboard", { label: "Plant" })).dashboard;
    const add = async (key: string, widget: Record<string, unknown>) => {
      widgets[key] = (await api<{ widget: string }>("POST", `/dashboard/${dashboard}/widget`, widget)).widget;
    };
    const source = (variables: string[]) => [{ origin: device.deviceId, variables }];
    await add("button", {
      label: "Open valve", type: "push_button", data: source(["valve"]),
      display: { text: "Open", value: "true", value_type: "boolean", target: "downlink", downlink: { topic: "cmd/{{device}}/valve", payload: '{"open":{{value}}}', qos: 1, retain: false }, confirm: true, confirm_text: "Open the valve?" },
    });
    await add("switch", {
      label: "Pump", type: "switch", data: source(["pump"]),
      display: { target: "downlink", variable: "pump", downlink: { topic: "cmd/{{device}}/pump", payload: "{{value}}", qos: 1, retain: false } },
    });
    await add("slider", { label: "Setpoint", type: "slider", data: source(["setpoint"]), display: { target: "variable", variable: "setpoint", min: 10, max: 30, step: 0.5, unit: "°C" } });
    await add("form", {
      label: "Settings", type: "input_form", data: source(["limit", "site", "alarm"]),
      display: {
        fields: [
          { variable: "limit", label: "Limit", type: "number", required: true, min: 5, max: 30 },
          { variable: "site", label: "Site", type: "text", required: false, max: 20 },
          { variable: "alarm", label: "Alarm on", type: "boolean" },
        ],
        submit_text: "Save settings", success_text: "Settings saved",
      },
    });
    await add("table", { label: "Log", type: "table", data: source(["temperature"]), display: { columns: ["variable", "value", "unit", "time"], amount: 10 } });
    await add("map", { label: "Fleet", type: "map", data: [{ origin: tracker.deviceId }], display: { points: 50, track: true } });
    await add("note", { label: "Readme", type: "note", display: { markdown: HOSTILE_NOTE } });
    await add("image", { label: "Boiler photo", type: "image", display: { url: IMAGE_URL, alt: "The boiler, front view", fit: "cover" } });
    const place = (key: string, x: number, y: number, width: number, height: number) => ({ widget_id: widgets[key], x, y, width, height });
    await api("PUT", `/dashboard/${dashboard}`, {
      arrangement: [
        place("button", 0, 0, 3, 2), place("switch", 3, 0, 3, 2), place("slider", 6, 0, 3, 2), place("image", 9, 0, 3, 4),
        place("form", 0, 2, 4, 5), place("note", 4, 2, 5, 5), place("table", 0, 7, 6, 7), place("map", 6, 7, 6, 7),
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
  });

  /** The dashboard's page, tiles refused (offline), the image served by the test. */
  async function openDashboard(dark = false) {
    const opened = await openConsole(browser, sluice.api, { width: 1400, height: 1350, dark });
    const tileRequests: string[] = [];
    await opened.page.route(`https://${TILE_HOST}/**`, (route) => {
      tileRequests.push(route.request().url());
      return route.abort("internetdisconnected");
    });
    await opened.page.route(IMAGE_URL, (route) => route.fulfill({ status: 200, contentType: "image/png", body: PNG }));
    await signIn(opened.page, sluice);
    await opened.page.goto(`${sluice.api}/#/dashboards/${dashboard}`);
    await opened.page.getByRole("heading", { level: 1, name: "Plant" }).waitFor();
    return { ...opened, tileRequests };
  }
  const widget = (page: Page, name: string) => page.getByRole("region", { name, exact: true });
  /** What left for another host: only the tiles (refused) and the image (answered by the test). */
  const unexpected = (requests: string[]) => requests.filter((url) => !url.startsWith(`https://${TILE_HOST}/`) && url !== IMAGE_URL);

  test("push button and switch publish their downlinks to the subscribed device; the switch follows its variable live", async () => {
    const { page, foreignRequests, pageErrors } = await openDashboard();
    const button = widget(page, "Open valve");
    await button.getByRole("button", { name: "Open" }).click();
    // Asked first: nothing is sent until confirmed.
    await button.getByText("Open the valve?").waitFor();
    const valve = nextMessages(mqttClient, 1, 10_000);
    await button.getByRole("button", { name: "Send" }).click();
    const [v] = await valve;
    assert.equal(v!.topic, `cmd/${device.deviceId}/valve`);
    assert.deepEqual(JSON.parse(v!.payload), { open: true });
    await button.getByText("Sent").waitFor();

    const pump = widget(page, "Pump");
    const toggle = pump.getByRole("switch", { name: "Pump" });
    await pump.getByText("Off").waitFor();
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    const pumpMessage = nextMessages(mqttClient, 1, 10_000);
    await toggle.click();
    const [p] = await pumpMessage;
    assert.deepEqual([p!.topic, p!.payload], [`cmd/${device.deviceId}/pump`, "true"]);
    // The device reports its new state: the switch shows it, live.
    await api("POST", `/device/${device.deviceId}/data`, { variable: "pump", value: true });
    await eventually(async () => (await toggle.getAttribute("aria-checked")) === "true");
    await pump.getByText("On").waitFor();
    assert.deepEqual(unexpected(foreignRequests), []);
    assert.deepEqual(pageErrors, []);
  });

  test("the slider sends its value as a record on release; the form validates, then stores records GET /device/:id/data returns", async () => {
    const { page, pageErrors } = await openDashboard();
    const slider = widget(page, "Setpoint");
    const range = slider.getByRole("slider", { name: "Setpoint" });
    await slider.locator("output").getByText("20").waitFor();
    // A keyboard step is a release: one record of 20.5.
    await range.focus();
    await page.keyboard.press("ArrowRight");
    await slider.getByText("Sent").waitFor();
    await eventually(async () => (await recordsOf(device.deviceId, "setpoint"))[0]?.value === 20.5);
    // A drag is one send when let go, however far the pointer travelled.
    const box = (await range.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let x = 2; x <= box.width * 0.75; x += 10) await page.mouse.move(box.x + x, box.y + box.height / 2);
    await page.mouse.up();
    await eventually(async () => (await recordsOf(device.deviceId, "setpoint")).length === 3);
    const sent = (await recordsOf(device.deviceId, "setpoint"))[0]!.value as number;
    assert.ok(sent > 20.5 && sent <= 30 && (sent * 2) % 1 === 0, `dragged to ${sent}`);

    const form = widget(page, "Settings");
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByText("Limit is required").waitFor();
    await form.getByLabel("Limit").fill("50");
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByText("Limit must be at most 30").waitFor();
    assert.equal((await recordsOf(device.deviceId, "limit")).length, 0, "nothing sent while a field is invalid");
    await form.getByLabel("Limit").fill("21.5");
    await form.getByLabel("Site").fill("north hall");
    await form.getByLabel("Alarm on").check();
    await form.getByRole("button", { name: "Save settings" }).click();
    await form.getByText("Settings saved").waitFor();
    assert.deepEqual((await recordsOf(device.deviceId, "limit")).map((r) => r.value), [21.5]);
    assert.deepEqual((await recordsOf(device.deviceId, "site")).map((r) => r.value), ["north hall"]);
    assert.deepEqual((await recordsOf(device.deviceId, "alarm")).map((r) => r.value), [true]);
    assert.deepEqual(pageErrors, []);
  });

  test("the table pages newest first and takes live rows on its first page; the map shows markers and tracks with tiles refused", async () => {
    const { page, tileRequests, pageErrors } = await openDashboard();
    const table = widget(page, "Log");
    const values = async () => (await table.locator("tbody tr td:nth-child(2)").allTextContents()).map(Number);
    await eventually(async () => (await values()).length === 10);
    assert.deepEqual(await values(), [24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
    assert.equal(await table.locator("tbody tr").first().locator("td").nth(2).textContent(), "°C");
    await table.getByRole("button", { name: "Older" }).click();
    await eventually(async () => (await values())[0] === 14);
    assert.deepEqual(await values(), [14, 13, 12, 11, 10, 9, 8, 7, 6, 5]);
    await table.getByRole("button", { name: "Older" }).click();
    await eventually(async () => (await values())[0] === 4);
    assert.deepEqual(await values(), [4, 3, 2, 1, 0]);
    assert.equal(await table.getByRole("button", { name: "Older" }).isDisabled(), true);
    await table.getByRole("button", { name: "Newer" }).click();
    await table.getByRole("button", { name: "Newer" }).click();
    await eventually(async () => (await values())[0] === 24);
    await api("POST", `/device/${device.deviceId}/data`, { variable: "temperature", value: 99, unit: "°C" });
    await eventually(async () => (await values())[0] === 99);
    assert.equal((await values()).length, 10);

    const map = widget(page, "Fleet");
    await map.locator("path.map-marker").waitFor({ timeout: 15_000 });
    assert.equal(await map.locator("path.map-marker").count(), 1);
    assert.equal(await map.locator("path.map-track").count(), 1);
    await map.getByText(/tiles unavailable/i).waitFor({ timeout: 15_000 });
    assert.ok(tileRequests.length > 0, "the map asked for tiles (and was refused)");
    // Fitted to the data: the marker is inside the map's box.
    const markerBox = (await map.locator("path.map-marker").boundingBox())!;
    const mapBox = (await map.locator(".widget-map").boundingBox())!;
    assert.ok(markerBox.x > mapBox.x && markerBox.x + markerBox.width < mapBox.x + mapBox.width && markerBox.y > mapBox.y && markerBox.y + markerBox.height < mapBox.y + mapBox.height);
    // A live point moves the marker and extends the track.
    const before = markerBox;
    await api("POST", `/device/${tracker.deviceId}/data`, { variable: "position", value: 9, location: { lat: 38.69, lng: -9.1 } });
    await eventually(async () => {
      const now = await map.locator("path.map-marker").boundingBox();
      return now !== null && (Math.abs(now.x - before.x) > 2 || Math.abs(now.y - before.y) > 2);
    });
    assert.equal(await map.locator("path.map-marker").count(), 1);
    assert.deepEqual(pageErrors, []);
  });

  test("the note renders markdown and nothing of hostile markdown runs or becomes markup; the image shows with its description", async () => {
    const { page, pageErrors } = await openDashboard();
    const note = widget(page, "Readme");
    await note.getByRole("heading", { name: "Boiler room" }).waitFor();
    assert.equal(await note.locator("li strong").textContent(), "pressure");
    assert.equal(await note.getByRole("link", { name: "manual" }).getAttribute("href"), "https://example.com/manual");
    // Raw HTML is shown as text, not made into elements.
    assert.equal(await note.locator("script").count(), 0);
    assert.equal(await note.locator("[onerror]").count(), 0);
    assert.equal(await note.locator("img[src='x']").count(), 0);
    await note.getByText("<script>window.__pwned = 'script'</script>").waitFor();
    // The javascript: link keeps its text, not its address.
    const hrefs = await note.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
    assert.ok(hrefs.every((h) => !/^\s*javascript:/i.test(h)), JSON.stringify(hrefs));
    const srcs = await note.locator("img").evaluateAll((imgs) => imgs.map((i) => i.getAttribute("src") ?? ""));
    assert.ok(srcs.every((s) => !/^\s*javascript:/i.test(s)), JSON.stringify(srcs));
    // A link whose address was dropped is plain text (an empty href would reload the console).
    assert.equal(await note.getByRole("link", { name: "click me" }).count(), 0);
    await note.getByText("click me").click();
    assert.equal(await note.getByRole("link", { name: "manual" }).getAttribute("target"), "_blank");
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined);
    assert.match(page.url(), new RegExp(`#/dashboards/${dashboard}`));

    const image = widget(page, "Boiler photo").getByRole("img", { name: "The boiler, front view" });
    await eventually(async () => (await image.evaluate((img) => (img as HTMLImageElement).naturalWidth)) === 2);
    assert.equal(await image.evaluate((img) => getComputedStyle(img).objectFit), "cover");
    assert.deepEqual(pageErrors, []);
  });

  test("on a public link the controls and the form are disabled, saying why; nothing can be sent", async () => {
    const { token: key } = await api<{ token: string }>("GET", `/dashboard/${dashboard}/share/public`);
    const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api, { width: 1400, height: 1350 });
    await page.route(`https://${TILE_HOST}/**`, (route) => route.abort("internetdisconnected"));
    await page.route(IMAGE_URL, (route) => route.fulfill({ status: 200, contentType: "image/png", body: PNG }));
    await page.goto(`${sluice.api}/view#${key}`);
    const open = widget(page, "Open valve").getByRole("button", { name: "Open" });
    await open.waitFor();
    assert.equal(await open.isDisabled(), true);
    assert.match((await widget(page, "Open valve").locator(".control-readonly").getAttribute("title")) ?? "", /Read only: a public link/);
    assert.equal(await widget(page, "Pump").getByRole("switch").isDisabled(), true);
    assert.equal(await widget(page, "Setpoint").getByRole("slider").isDisabled(), true);
    assert.equal(await widget(page, "Settings").getByRole("button", { name: "Save settings" }).isDisabled(), true);
    assert.equal(await widget(page, "Settings").getByLabel("Limit").isDisabled(), true);
    // What it shows still comes: the table's rows, the map's marker, the switch's state.
    await widget(page, "Log").locator("tbody tr").first().waitFor();
    await widget(page, "Fleet").locator("path.map-marker").waitFor({ timeout: 15_000 });
    await screenshot(page, "dashboard-widgets-shared");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(unexpected(foreignRequests), []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("what the API refuses is shown inline, in its words: a bad downlink, a variable the widget does not write", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Refusals" });
    const { widget: b } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, {
      label: "Bad topic", type: "push_button", data: [{ origin: device.deviceId }],
      display: { text: "Go", value: "1", value_type: "number", downlink: { topic: "cmd/+/x", payload: "{{value}}", qos: 0, retain: false } },
    });
    const { widget: f } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, {
      label: "Narrow form", type: "input_form", data: [{ origin: device.deviceId, variables: ["allowed"] }],
      display: { fields: [{ variable: "other", label: "Other", type: "text", required: true }], submit_text: "Send" },
    });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: b, x: 0, y: 0, width: 4, height: 2 }, { widget_id: f, x: 4, y: 0, width: 4, height: 3 }] });
    const { page, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}`);
    const button = widget(page, "Bad topic");
    await button.getByRole("button", { name: "Go" }).click();
    assert.match((await button.getByRole("alert").textContent()) ?? "", /not a valid topic name/);
    const form = widget(page, "Narrow form");
    await form.getByLabel("Other").fill("x");
    await form.getByRole("button", { name: "Send" }).click();
    assert.match((await form.getByRole("alert").textContent()) ?? "", /"other" is not one this widget shows/);
    await screenshot(page, "widgets-refused");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(pageErrors, []);
  });

  test("a switch made through the editor publishes the downlink its editor set", async () => {
    await api("PUT", `/device/${device.deviceId}`, { name: "Boiler" });
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Editing" });
    const { page, pageErrors } = await openConsole(browser, sluice.api, { width: 1280, height: 1000 });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}`);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("button", { name: "Add widget" }).click();
    await page.getByRole("dialog", { name: "Add a widget" }).getByRole("button", { name: /^Switch/ }).click();
    const form = page.getByRole("form", { name: "New Switch widget" });
    await form.getByLabel("Label").fill("Heater");
    await form.getByRole("combobox", { name: /^Device/ }).selectOption({ label: "Boiler" });
    await form.getByLabel("Variables", { exact: true }).fill("heater");
    await form.getByLabel("Variable", { exact: true }).fill("heater");
    await form.getByLabel("Topic").fill("cmd/{{device}}/heater");
    await form.getByLabel("Payload").fill('{"on":{{value}}}');
    await form.getByLabel("QoS").selectOption("1");
    await form.getByLabel("Text when on").fill("Heating");
    await screenshot(page, "widget-editor-switch");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await form.getByRole("button", { name: "Add widget" }).click();
    await page.getByRole("button", { name: "Done editing" }).click();
    const stored = (await api<{ type: string; display: { downlink: unknown } }[]>("GET", `/dashboard/${id}/widget`))[0]!;
    assert.deepEqual([stored.type, stored.display.downlink], ["switch", { topic: "cmd/{{device}}/heater", payload: '{"on":{{value}}}', qos: 1, retain: false }]);
    const heater = widget(page, "Heater").getByRole("switch", { name: "Heater" });
    const message = nextMessages(mqttClient, 1, 10_000);
    await heater.click();
    await screenshot(page, "widget-editor-switch-added");
    const [m] = await message;
    assert.deepEqual([m!.topic, JSON.parse(m!.payload), m!.packet.qos], [`cmd/${device.deviceId}/heater`, { on: true }, 1]);
    assert.deepEqual(pageErrors, []);
  });

  test("the editors of the map, input form and table: labelled, light and dark", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Editors" });
    for (const dark of [false, true]) {
      const { page, context, pageErrors } = await openConsole(browser, sluice.api, { width: 1280, height: 1100, dark });
      await signIn(page, sluice);
      await page.goto(`${sluice.api}/#/dashboards/${id}`);
      await page.getByRole("button", { name: "Edit" }).click();
      for (const [type, shot] of [["Map", "map"], ["Input form", "input-form"], ["Table", "table"], ["Push button", "push-button"], ["Note", "note"], ["Image", "image"]] as const) {
        await page.getByRole("button", { name: "Add widget" }).click();
        await page.getByRole("dialog", { name: "Add a widget" }).getByRole("button", { name: new RegExp(`^${type}`) }).click();
        const form = page.getByRole("form", { name: `New ${type} widget` });
        await form.getByRole("group", { name: `${type} options` }).waitFor();
        if (type === "Input form") await form.getByRole("button", { name: "Add a field" }).click();
        if (shot === "map" || shot === "input-form") await screenshot(page, `widget-editor-${shot}-${dark ? "dark" : "light"}`);
        assert.deepEqual(await seriousA11yViolations(page), [], `${type} editor`);
        await form.getByRole("button", { name: "Cancel" }).click();
      }
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });

  test("Leaflet is downloaded by dashboards with a map only", async () => {
    const { dashboard: plain } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "No map" });
    const { widget: w } = await api<{ widget: string }>("POST", `/dashboard/${plain}/widget`, { label: "Hello", type: "note", display: { markdown: "hello" } });
    await api("PUT", `/dashboard/${plain}`, { arrangement: [{ widget_id: w, x: 0, y: 0, width: 4, height: 2 }] });
    const { page, context } = await openConsole(browser, sluice.api);
    await page.route(`https://${TILE_HOST}/**`, (route) => route.abort("internetdisconnected"));
    const scripts: string[] = [];
    page.on("request", (request) => {
      if (request.resourceType() === "script" || request.resourceType() === "stylesheet") scripts.push(new URL(request.url()).pathname);
    });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${plain}`);
    await widget(page, "Hello").locator(".widget-note").getByText("hello").waitFor();
    assert.deepEqual(scripts.filter((p) => /leaflet/i.test(p)), []);
    await page.goto(`${sluice.api}/#/dashboards/${dashboard}`);
    await widget(page, "Fleet").locator("path.map-marker").waitFor({ timeout: 15_000 });
    assert.ok(scripts.some((p) => /leaflet/i.test(p)), JSON.stringify(scripts));
    await context.close();
  });

  test("the whole dashboard, light and dark: screenshots and no serious accessibility violation", async () => {
    for (const dark of [false, true]) {
      const { page, context, pageErrors } = await openDashboard(dark);
      await widget(page, "Fleet").locator("path.map-marker").waitFor({ timeout: 15_000 });
      await widget(page, "Fleet").getByText(/tiles unavailable/i).waitFor({ timeout: 15_000 });
      await widget(page, "Log").locator("tbody tr").first().waitFor();
      await widget(page, "Pump").getByRole("switch").waitFor();
      await screenshot(page, `dashboard-widgets-${dark ? "dark" : "light"}`);
      assert.deepEqual(await seriousA11yViolations(page), [], dark ? "dark" : "light");
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });
});
