import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { adminApi } from "../helpers/admin_api.js";
import { until } from "../helpers/until.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The chart, dial, display and card widgets on a dashboard's page, in a real browser against a
// real Sluice: history drawn from the downsampling query, then values published over MQTT
// (stored by an insert action) changing every widget live; zoom and reset; and a chart over a
// year asking for one bucket per pixel of its width.

describe("chart, dial, display and card widgets", () => {
  let sluice: TestSluice;
  let browser: Browser;
  before(async () => {
    sluice = await startSluice();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
  });

  const api = adminApi(() => sluice);

  const widget = async (dashboard: string, body: Record<string, unknown>) => (await api<{ widget: string }>("POST", `/dashboard/${dashboard}/widget`, body)).widget;

  /** Records `{ variable, value, time }` into a device, 2 000 per request. */
  const seed = async (deviceId: string, records: { variable: string; value: number; time: string }[]) => {
    for (let i = 0; i < records.length; i += 2000) await api("POST", `/device/${deviceId}/data`, records.slice(i, i + 2000));
  };

  const attr = (page: Page, selector: string, name: string) => page.locator(selector).first().getAttribute(name);

  test("history, then MQTT values change the line chart, dial, display and card live; zoom and reset; light and dark", async () => {
    const boiler = await sluice.device();
    const attic = await sluice.device();
    for (const dev of [boiler, attic]) {
      await api("POST", "/action", { name: `store ${dev.deviceId}`, type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: `plant/${dev.deviceId}/up` }], action: { type: "insert_bucket" } });
    }
    // A day of history: every 20 minutes, temperature 15–25 °C and humidity around 50 %.
    const now = Date.now();
    const history = (variable: string, base: number, amplitude: number) =>
      Array.from({ length: 72 }, (_, i) => ({ variable, value: Math.round((base + amplitude * Math.sin(i / 8)) * 10) / 10, time: new Date(now - (72 - i) * 20 * 60_000).toISOString() }));
    await seed(boiler.deviceId, [...history("temperature", 20, 5), ...history("humidity", 50, 8)]);
    await seed(attic.deviceId, history("temperature", 14, 3));
    await api("PUT", `/device/${boiler.deviceId}`, { name: "Boiler" });
    await api("PUT", `/device/${attic.deviceId}`, { name: "Attic" });

    const { dashboard } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Boiler room" });
    const thresholds = [
      { value: 25, color: "#a16207" },
      { value: 35, color: "#b91c1c" },
    ];
    const chart = await widget(dashboard, {
      label: "Temperatures",
      type: "line",
      display: { unit: "°C", decimals: 1, thresholds: [{ value: 35, color: "#b91c1c" }], band: true },
      data: [
        { origin: boiler.deviceId, variables: ["temperature", "humidity"] },
        { origin: attic.deviceId, variables: ["temperature"] },
      ],
    });
    const source = [{ origin: boiler.deviceId, variables: ["temperature"] }];
    const dial = await widget(dashboard, { label: "Boiler dial", type: "dial", display: { min: 0, max: 50, unit: "°C", decimals: 1, thresholds }, data: source });
    const display = await widget(dashboard, { label: "Boiler now", type: "display", display: { unit: "°C", decimals: 1, thresholds }, data: source });
    const card = await widget(dashboard, { label: "Boiler card", type: "card", display: { caption: "Boiler water", unit: "°C", decimals: 1, thresholds }, data: source });
    await api("PUT", `/dashboard/${dashboard}`, {
      arrangement: [
        { widget_id: chart, x: 0, y: 0, width: 8, height: 5 },
        { widget_id: dial, x: 8, y: 0, width: 4, height: 3 },
        { widget_id: display, x: 8, y: 3, width: 2, height: 2 },
        { widget_id: card, x: 10, y: 3, width: 2, height: 2 },
      ],
    });

    const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api, { width: 1280, height: 860 });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${dashboard}`);
    const chartRegion = page.getByRole("region", { name: "Temperatures" });
    await chartRegion.locator(".chart-widget[data-series-count='3'] canvas").waitFor();
    // One legend row per device × variable, the devices told apart by name when several (the
    // names come with the dashboard's devices, just after the data).
    const expected = ["Time", "temperature · Boiler", "humidity · Boiler", "temperature · Attic"];
    let legend: string[] = [];
    await until(async () => {
      legend = (await chartRegion.locator(".chart-legend .u-series:visible th").allTextContents()).map((t) => t.trim());
      return JSON.stringify(legend) === JSON.stringify(expected) ? true : undefined;
    }, 10_000).catch(() => assert.deepEqual(legend, expected));
    const lastSeeded = history("temperature", 20, 5).at(-1)!.value;
    const meter = page.getByRole("meter", { name: "Boiler dial" });
    await meter.waitFor();
    assert.equal(await meter.getAttribute("data-value"), String(lastSeeded));
    assert.equal(await meter.getAttribute("aria-valuemax"), "50");
    assert.equal(await page.getByRole("region", { name: "Boiler now" }).locator(".display-value").getAttribute("data-value"), String(lastSeeded));
    await page.getByRole("region", { name: "Boiler card" }).getByText("Boiler water").waitFor();
    // The chart's points never outnumber its pixels.
    const buckets = Number(await attr(page, ".chart-widget", "data-buckets"));
    assert.ok(buckets > 300, `buckets ${buckets}`);
    await chartRegion.locator(".chart-plot[data-points]").waitFor();
    assert.ok(Number(await attr(page, ".chart-plot", "data-points")) <= buckets);

    // Live: MQTT → insert action → dashboard channel → every widget.
    const client = await sluice.connect({ username: "Token", password: boiler.token });
    await client.publishAsync(`plant/${boiler.deviceId}/up`, JSON.stringify([{ variable: "temperature", value: 42.25 }, { variable: "humidity", value: 61 }]), { qos: 1 });
    await page.locator('[role="meter"][data-value="42.25"]').waitFor();
    assert.equal(await meter.getAttribute("aria-valuetext"), "42.3 °C");
    await page.locator('.display-value[data-value="42.25"]').waitFor();
    const cardValue = page.getByRole("region", { name: "Boiler card" }).locator('.card-value[data-value="42.25"]');
    await cardValue.waitFor();
    assert.equal(await cardValue.textContent(), "42.3°C");
    assert.equal(await page.locator(".card-trend").getAttribute("data-trend"), "up");
    await chartRegion.locator(`li[data-series="${boiler.deviceId}/temperature"][data-value="42.25"]`).waitFor({ state: "attached" });
    await chartRegion.locator(`li[data-series="${boiler.deviceId}/humidity"][data-value="61"]`).waitFor({ state: "attached" });
    // Above the last threshold: the display's stripe takes its colour.
    const stripe = await page.locator(".display-widget").evaluate((el) => getComputedStyle(el).borderLeftColor);
    assert.equal(stripe, "rgb(185, 28, 28)");
    // The attic's device is a separate series: its value did not move.
    const attic0 = await chartRegion.locator(`li[data-series="${attic.deviceId}/temperature"]`).getAttribute("data-value");
    await client.publishAsync(`plant/${boiler.deviceId}/up`, JSON.stringify([{ variable: "temperature", value: 18 }]), { qos: 1 });
    await page.locator('[role="meter"][data-value="18"]').waitFor();
    await page.locator('.card-trend[data-trend="down"]').waitFor();
    assert.equal(await chartRegion.locator(`li[data-series="${attic.deviceId}/temperature"]`).getAttribute("data-value"), attic0);
    await screenshot(page, "widgets-light");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Zoom by dragging across the plot, then reset with the button.
    const over = chartRegion.locator(".u-over");
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await chartRegion.locator(".chart-widget[data-zoomed='true']").waitFor();
    const reset = chartRegion.getByRole("button", { name: "Reset zoom" });
    await screenshot(page, "widgets-zoomed");
    await reset.click();
    await chartRegion.locator(".chart-widget[data-zoomed='false']").waitFor();
    assert.equal(await reset.count(), 0);
    // And by keyboard: + zooms, Escape resets.
    await chartRegion.getByRole("group", { name: /Line chart: Temperatures/ }).focus();
    await page.keyboard.press("+");
    await chartRegion.locator(".chart-widget[data-zoomed='true']").waitFor();
    await page.keyboard.press("Escape");
    await chartRegion.locator(".chart-widget[data-zoomed='false']").waitFor();

    // Dark: the charts are drawn again in the theme's colours.
    await page.getByRole("button", { name: "Switch to the dark theme" }).click();
    await page.locator("html[data-theme='dark']").waitFor();
    await chartRegion.locator(".chart-widget[data-series-count='3'] canvas").waitFor();
    await client.publishAsync(`plant/${boiler.deviceId}/up`, JSON.stringify([{ variable: "temperature", value: 27.5 }]), { qos: 1 });
    await page.locator('[role="meter"][data-value="27.5"]').waitFor();
    await screenshot(page, "widgets-dark");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("a chart over a year of many records asks for one bucket per pixel of its width", async () => {
    const meterDevice = await sluice.device();
    const now = Date.now();
    const year = 365 * 86_400_000;
    const count = 20_000;
    const step = year / count;
    await seed(
      meterDevice.deviceId,
      Array.from({ length: count }, (_, i) => ({ variable: "power", value: Math.round(1000 + 400 * Math.sin(i / 500) + (i % 7) * 10), time: new Date(now - year + i * step).toISOString() })),
    );
    const { dashboard } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "A year of power" });
    const chart = await widget(dashboard, {
      label: "Power, last year",
      type: "area",
      display: { unit: "W", decimals: 0 },
      data: [{ origin: meterDevice.deviceId, variables: ["power"], start_date: "1 year" }],
    });
    const bars = await widget(dashboard, { label: "Power bars", type: "bar", display: { unit: "W" }, data: [{ origin: meterDevice.deviceId, variables: ["power"], start_date: "1 year" }] });
    await api("PUT", `/dashboard/${dashboard}`, {
      arrangement: [
        { widget_id: chart, x: 0, y: 0, width: 12, height: 4 },
        { widget_id: bars, x: 0, y: 4, width: 6, height: 4 },
      ],
    });

    const { page, context, pageErrors } = await openConsole(browser, sluice.api, { width: 1280, height: 860 });
    const asked = new Map<string, URL>();
    const answered = new Map<string, number>();
    page.on("request", (request) => {
      const url = new URL(request.url());
      const m = /^\/data\/[0-9a-f]+\/([0-9a-f]+)$/.exec(url.pathname);
      if (m) asked.set(m[1]!, url);
    });
    page.on("response", async (response) => {
      const m = /\/data\/[0-9a-f]+\/([0-9a-f]+)\?/.exec(response.url());
      if (!m || !response.ok()) return;
      const json = (await response.json()) as { result: { result: { result: unknown[] }[] } };
      answered.set(m[1]!, json.result.result[0]!.result.length);
    });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${dashboard}`);
    const region = page.getByRole("region", { name: "Power, last year" });
    await region.locator(".chart-plot[data-points]").waitFor();
    await page.getByRole("region", { name: "Power bars" }).locator(".chart-plot[data-points]").waitFor();

    for (const [id, name] of [[chart, "Power, last year"], [bars, "Power bars"]] as const) {
      const url = asked.get(id);
      assert.ok(url, `the ${name} chart asked for its data`);
      const width = await page.getByRole("region", { name }).locator(".widget-body").evaluate((el) => Math.floor(el.clientWidth));
      assert.equal(url.searchParams.get("buckets"), String(width), `${name}: buckets = the renderer's width`);
      assert.equal(url.searchParams.get("query"), "downsample");
      const start = Date.parse(url.searchParams.get("start_date")!);
      assert.ok(Math.abs(start - (now - year)) < 5 * 60_000, `${name}: from a year ago (${url.searchParams.get("start_date")})`);
      // The answer: at most one bucket per pixel, though the year holds 20 000 records.
      const got = answered.get(id) ?? 0;
      assert.ok(got > width / 2 && got <= width, `${name}: ${got} buckets for ${width} px`);
    }
    await screenshot(page, "widgets-year");
    await page.getByRole("button", { name: "Switch to the dark theme" }).click();
    await region.locator(".chart-plot[data-points]").waitFor();
    await screenshot(page, "widgets-year-dark");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
  test("the option forms: a dial and a line chart added in edit mode, every option labelled, stored in display", async () => {
    const dev = await sluice.device();
    const { name } = await api<{ name: string }>("GET", `/device/${dev.deviceId}`);
    await seed(dev.deviceId, [{ variable: "level", value: 64, time: new Date().toISOString() }]);
    const { dashboard } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Tank" });
    const { page, context, pageErrors } = await openConsole(browser, sluice.api, { width: 1280, height: 900 });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${dashboard}?edit=1`);

    await page.getByRole("button", { name: "Add widget" }).click();
    await page.getByRole("list", { name: "Widget types" }).getByRole("button", { name: /^Dial/ }).click();
    const form = page.getByRole("form", { name: "New Dial widget" });
    await form.getByLabel("Label", { exact: true }).fill("Tank level");
    await form.getByLabel("Device").selectOption({ label: name });
    await form.getByLabel("Variables").fill("level");
    await form.getByLabel("Variables").blur();
    await form.getByLabel("Maximum", { exact: true }).fill("80");
    await form.getByLabel("Unit", { exact: true }).fill("%");
    await form.getByLabel("Decimals").selectOption("1");
    await form.getByRole("button", { name: "Add threshold" }).click();
    await form.getByLabel("Threshold 1: from").fill("60");
    await form.getByLabel("Threshold 1 colour").fill("#b91c1c");
    await screenshot(page, "widgets-dial-editor");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await form.getByRole("button", { name: "Add widget" }).click();
    const meter = page.getByRole("meter", { name: "Tank level" });
    await meter.waitFor();
    assert.equal(await meter.getAttribute("aria-valuetext"), "64.0 %");
    const widgets = await api<{ id: string; type: string; display: Record<string, unknown> }[]>("GET", `/dashboard/${dashboard}/widget`);
    const dial = widgets.find((w) => w.type === "dial")!;
    assert.deepEqual(dial.display, { min: 0, max: 80, unit: "%", decimals: 1, thresholds: [{ value: 60, color: "#b91c1c" }], color: "" });

    await page.getByRole("button", { name: "Add widget" }).click();
    await page.getByRole("list", { name: "Widget types" }).getByRole("button", { name: /^Line chart/ }).click();
    const chartForm = page.getByRole("form", { name: "New Line chart widget" });
    await chartForm.getByLabel("Label", { exact: true }).fill("Level over time");
    await chartForm.getByLabel("Device").selectOption({ label: name });
    await chartForm.getByLabel("Variables").fill("level");
    await chartForm.getByLabel("Variables").blur();
    await chartForm.getByLabel("Label of level").fill("Tank");
    await chartForm.getByLabel("Colour of level").fill("#7c3aed");
    await chartForm.getByLabel(/minimum–maximum band/).uncheck();
    await chartForm.getByLabel("Minimum", { exact: true }).fill("0");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await chartForm.getByRole("button", { name: "Add widget" }).click();
    const chart = page.getByRole("region", { name: "Level over time" });
    await chart.locator(".chart-legend .u-series:visible th").nth(1).waitFor();
    assert.equal((await chart.locator(".chart-legend .u-series:visible th").nth(1).textContent())?.trim(), "Tank");
    const line = (await api<{ type: string; display: Record<string, unknown> }[]>("GET", `/dashboard/${dashboard}/widget`)).find((w) => w.type === "line")!;
    assert.deepEqual(line.display, { unit: "", decimals: null, min: 0, max: null, thresholds: [], band: false, series: { [`${dev.deviceId}/level`]: { label: "Tank", color: "#7c3aed" } } });
    await screenshot(page, "widgets-edit-mode");
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
