import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import type { DashboardJson, WidgetJson } from "../../src/http/api_types.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { adminApi } from "../helpers/admin_api.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The dashboards list and a dashboard's page in a real browser against a real Sluice: create,
// open, delete; widgets laid out by the stored arrangement, a type this console lacks shown as
// "not supported here".

describe("the dashboards pages", () => {
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

  test("create a dashboard from the list, open it, delete it", async () => {
    const { page, foreignRequests, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboards" }).click();
    await page.getByText("No dashboard yet.").waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByLabel("New dashboard name").fill("Boiler room");
    await page.getByRole("button", { name: "Create dashboard" }).click();
    await page.waitForURL(/#\/dashboards\/[0-9a-f]{24}$/);
    const id = page.url().split("/").pop()!;
    await page.getByRole("heading", { level: 1, name: "Boiler room" }).waitFor();
    await page.getByText("No widget on this dashboard yet.").waitFor();
    const stored = await api<DashboardJson>("GET", `/dashboard/${id}`);
    assert.equal(stored.label, "Boiler room");

    await page.getByRole("link", { name: "All dashboards" }).click();
    const row = page.getByRole("row", { name: /Boiler room/ });
    await row.waitFor();
    await screenshot(page, "dashboards-list");
    await row.getByRole("button", { name: "Delete Boiler room" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.getByText("No dashboard yet.").waitFor();
    assert.equal((await api<DashboardJson[]>("GET", "/dashboard")).length, 0);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });

  test("widgets are placed by the arrangement; a type this console lacks says so", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", {
      label: "Mixed",
      tabs: [{ key: "a", value: "Overview" }, { key: "b", value: "Details" }],
    });
    const { widget: w1 } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "From the future", type: "hologram", display: {} });
    const { widget: w2 } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "On tab two", type: "hologram", display: {} });
    await api("PUT", `/dashboard/${id}`, {
      arrangement: [
        { widget_id: w1, x: 2, y: 1, width: 6, height: 3, tab: "a" },
        { widget_id: w2, x: 0, y: 0, width: 4, height: 2, tab: "b" },
      ],
    });
    const { page, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}`);
    const first = page.getByRole("region", { name: "From the future" });
    await first.getByText("not supported here").waitFor();
    assert.equal(await first.locator("code").textContent(), "hologram");
    // Its place: columns 3–8 of 12, rows 2–4.
    const grid = await page.locator(".dash-grid").boundingBox();
    const box = await first.boundingBox();
    assert.ok(grid && box);
    const column = (grid.width + 12) / 12;
    assert.ok(Math.abs(box.x - grid.x - 2 * column) < 3, `x ${box.x - grid.x} vs ${2 * column}`);
    assert.ok(Math.abs(box.width - (6 * column - 12)) < 3, `width ${box.width} vs ${6 * column - 12}`);
    assert.ok(Math.abs(box.y - grid.y - 72) < 3, `y ${box.y - grid.y}`);
    assert.ok(Math.abs(box.height - (3 * 60 + 2 * 12)) < 3, `height ${box.height}`);
    assert.equal(await page.getByRole("region", { name: "On tab two" }).count(), 0);
    await screenshot(page, "dashboard-unsupported");
    assert.deepEqual(await seriousA11yViolations(page), []);

    await page.getByRole("tab", { name: "Details" }).click();
    await page.getByRole("region", { name: "On tab two" }).waitFor();
    assert.match(page.url(), /tab=b/);
    assert.equal(await page.getByRole("region", { name: "From the future" }).count(), 0);
    // The widget is unknown to the console, not changed by it.
    const widget = await api<WidgetJson>("GET", `/dashboard/${id}/widget/${w2}`);
    assert.equal(widget.type, "hologram");
    assert.deepEqual(pageErrors, []);
  });

  test("a blueprint: a device per slot picked in the selector, kept in the address; on a phone, one column", async () => {
    const sendLevel = async (token: string, value: number) => {
      const response = await fetch(`${sluice.api}/data`, { method: "POST", headers: { token, "content-type": "application/json" }, body: JSON.stringify([{ variable: "level", value }]) });
      assert.equal(response.status, 200);
    };
    const east = await sluice.device();
    const west = await sluice.device();
    await api("PUT", `/device/${east.deviceId}`, { name: "Tank east", tags: [{ key: "kind", value: "tank" }] });
    await api("PUT", `/device/${west.deviceId}`, { name: "Tank west", tags: [{ key: "kind", value: "tank" }] });
    await sendLevel(east.token, 11);
    await sendLevel(west.token, 22);
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", {
      label: "Any tank",
      type: "blueprint",
      blueprint_devices: [{ id: "tank", name: "Tank", conditions: [{ key: "kind", value: "tank" }] }],
    });
    const { widget: card } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Level", type: "card", display: {}, data: [{ origin: "tank", variables: ["level"] }] });
    const { widget: note } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Notes", type: "note", display: { markdown: "Pick a tank above." } });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: card, x: 0, y: 0, width: 4, height: 3 }, { widget_id: note, x: 4, y: 0, width: 4, height: 3 }] });

    const { page, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}`);
    const selector = page.getByRole("combobox", { name: "Tank" });
    await selector.locator("option", { hasText: "Tank west" }).waitFor({ state: "attached" });
    assert.deepEqual(await selector.locator("option").allTextContents(), ["First fitting device", "Tank east", "Tank west"]);
    // Without a pick, the first fitting device by name.
    const level = page.getByRole("region", { name: "Level" });
    await level.getByText("11").waitFor();
    await selector.selectOption({ label: "Tank west" });
    await level.getByText("22").waitFor();
    assert.match(decodeURIComponent(page.url()), new RegExp(`device\\.tank=${west.deviceId}`));
    await page.reload();
    await level.getByText("22").waitFor();
    assert.equal(await selector.inputValue(), west.deviceId);
    assert.deepEqual(await seriousA11yViolations(page), []);

    await page.setViewportSize({ width: 390, height: 800 });
    const notes = page.getByRole("region", { name: "Notes" });
    const a = (await level.boundingBox())!;
    const b = (await notes.boundingBox())!;
    assert.ok(Math.abs(a.x - b.x) < 2 && b.y >= a.y + a.height, "stacked in reading order");
    await screenshot(page, "dashboard-blueprint-phone");
    assert.deepEqual(pageErrors, []);
  });
});
