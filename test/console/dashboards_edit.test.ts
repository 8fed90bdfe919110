import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ArrangementJson, DashboardJson, WidgetJson } from "../../src/http/api_types.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { adminApi } from "../helpers/admin_api.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A dashboard's edit mode in a real browser against a real Sluice: a widget added through the
// type menu and the sources form, shown live; dragged and resized with the mouse and moved with
// the keyboard, each change stored on the server; tabs added, renamed, hidden and deleted.

describe("editing a dashboard", () => {
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
  /** Polls the stored dashboard until `check` holds (saves are sent as the user acts). */
  const stored = async (id: string, check: (d: DashboardJson) => boolean, what: string): Promise<DashboardJson> => {
    for (let i = 0; i < 100; i++) {
      const d = await api<DashboardJson>("GET", `/dashboard/${id}`);
      if (check(d)) return d;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`the server never stored ${what}: ${JSON.stringify((await api<DashboardJson>("GET", `/dashboard/${id}`)).arrangement)}`);
  };
  const placeOf = (d: DashboardJson, widget: string): ArrangementJson => d.arrangement.find((a) => a.widget_id === widget)!;
  const sendData = async (token: string, value: number) => {
    const response = await fetch(`${sluice.api}/data`, { method: "POST", headers: { token, "content-type": "application/json" }, body: JSON.stringify([{ variable: "temperature", value, unit: "°C" }]) });
    assert.equal(response.status, 200);
  };
  const drag = async (page: Page, from: { x: number; y: number }, dx: number, dy: number) => {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x + dx / 2, from.y + dy / 2, { steps: 4 });
    await page.mouse.move(from.x + dx, from.y + dy, { steps: 4 });
    await page.mouse.up();
  };

  test("add a card through the menu and the sources form; it shows the device's value, live", async () => {
    const device = await sluice.device();
    await api("PUT", `/device/${device.deviceId}`, { name: "Boiler" });
    await sendData(device.token, 20.5);
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Plant" });

    const { page, foreignRequests, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}`);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("button", { name: "Add widget" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a widget" });
    await dialog.getByRole("list", { name: "Widget types" }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await dialog.getByRole("button", { name: /^Card/ }).click();
    const form = page.getByRole("form", { name: "New Card widget" });
    await form.getByLabel("Label").fill("Boiler temperature");
    await form.getByRole("combobox", { name: /^Device/ }).selectOption({ label: "Boiler" });
    await form.getByLabel("Variables", { exact: true }).fill("temperature");
    await screenshot(page, "dashboard-widget-dialog");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await form.getByRole("button", { name: "Add widget" }).click();

    const card = page.getByRole("region", { name: "Boiler temperature" });
    await card.getByText("20.5").waitFor();
    const widgets = await api<WidgetJson[]>("GET", `/dashboard/${id}/widget`);
    assert.equal(widgets.length, 1);
    assert.equal(widgets[0]!.type, "card");
    assert.deepEqual(widgets[0]!.data.map((s) => [s.origin, s.variables]), [[device.deviceId, ["temperature"]]]);
    const d = await stored(id, (x) => x.arrangement.length === 1, "the new widget's place");
    assert.deepEqual(placeOf(d, widgets[0]!.id), { widget_id: widgets[0]!.id, x: 0, y: 0, width: 3, height: 2 });

    // Live: the dashboard's one channel brings the new record to the card.
    await page.getByRole("button", { name: "Done editing" }).click();
    await sendData(device.token, 23.25);
    await card.getByText("23.25").waitFor();
    await screenshot(page, "dashboard-card-live");

    // Edit it (the pencil), then delete it (the bin, after asking).
    await page.getByRole("button", { name: "Edit", exact: true }).click();
    await page.getByRole("button", { name: "Edit Boiler temperature" }).click();
    const edit = page.getByRole("form", { name: "Edit Boiler temperature" });
    await edit.getByLabel("Label").fill("Boiler");
    await edit.getByLabel("Unit").fill("°C");
    await edit.getByRole("button", { name: "Save widget" }).click();
    await page.getByRole("region", { name: "Boiler", exact: true }).getByText("°C").waitFor();
    const edited = await api<WidgetJson>("GET", `/dashboard/${id}/widget/${widgets[0]!.id}`);
    assert.equal(edited.label, "Boiler");
    assert.equal((edited.display as { unit?: string }).unit, "°C");
    assert.deepEqual(edited.data, widgets[0]!.data, "its sources kept");
    await page.getByRole("button", { name: "Delete Boiler" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete widget" }).click();
    await page.getByText("No widget on this tab yet").waitFor();
    assert.equal((await api<WidgetJson[]>("GET", `/dashboard/${id}/widget`)).length, 0);
    assert.equal((await api<DashboardJson>("GET", `/dashboard/${id}`)).arrangement.length, 0);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });

  test("drag, resize and the keyboard move widgets; each change is stored", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Layout" });
    const { widget: a } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Alpha", type: "note", display: { markdown: "# Alpha" } });
    const { widget: b } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Beta", type: "hologram", display: {} });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: a, x: 0, y: 0, width: 4, height: 2 }, { widget_id: b, x: 0, y: 2, width: 4, height: 2 }] });

    const { page, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}?edit=1`);
    const alpha = page.getByRole("region", { name: "Alpha" });
    await alpha.waitFor();
    const grid = (await page.locator(".dash-grid").boundingBox())!;
    const column = (grid.width + 12) / 12;
    const row = 60 + 12;

    // Drag Alpha two columns right and three rows down: it lands on Beta's rows, Beta is pushed below.
    let box = (await alpha.boundingBox())!;
    await drag(page, { x: box.x + box.width / 2, y: box.y + box.height / 2 }, 2 * column, 3 * row);
    let d = await stored(id, (x) => placeOf(x, a).x === 2 && placeOf(x, a).y === 3, "Alpha's new place");
    assert.deepEqual([placeOf(d, a).width, placeOf(d, a).height], [4, 2]);
    assert.ok(placeOf(d, b).y >= 5 || placeOf(d, b).y + placeOf(d, b).height <= 3, `Beta moved out of Alpha's way: ${JSON.stringify(placeOf(d, b))}`);

    // Resize by the corner: one column wider, two rows taller.
    box = (await alpha.boundingBox())!;
    await drag(page, { x: box.x + box.width - 5, y: box.y + box.height - 5 }, column, 2 * row);
    d = await stored(id, (x) => placeOf(x, a).width === 5 && placeOf(x, a).height === 4, "Alpha's new size");
    assert.deepEqual([placeOf(d, a).x, placeOf(d, a).y], [2, 3]);
    await screenshot(page, "dashboard-edit-grid");

    // Keyboard: arrows move, Shift+arrows resize.
    await alpha.focus();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("Shift+ArrowLeft");
    assert.equal(await alpha.evaluate((el) => el === document.activeElement), true, "the widget keeps the focus");
    d = await stored(id, (x) => placeOf(x, a).x === 1 && placeOf(x, a).y === 2 && placeOf(x, a).width === 4, "the keyboard's moves");
    assert.equal(placeOf(d, a).height, 4);
    await page.getByRole("status").filter({ hasText: "Alpha: column 2, row 3, 4 wide, 4 high" }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Reloaded, the page shows what the server kept.
    await page.reload();
    await alpha.waitFor();
    const after = (await alpha.boundingBox())!;
    const gridAfter = (await page.locator(".dash-grid").boundingBox())!;
    assert.ok(Math.abs(after.x - gridAfter.x - column) < 3);
    assert.ok(Math.abs(after.y - gridAfter.y - 2 * row) < 3);
    assert.deepEqual(pageErrors, []);
  });

  test("tabs: add, rename, hide, delete", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Tabs" });
    const { widget: w } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Kept", type: "note", display: { markdown: "kept" } });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: w, x: 0, y: 0, width: 4, height: 2 }] });
    const { page, pageErrors } = await openConsole(browser, sluice.api, { dark: true });
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards/${id}?edit=1`);
    await page.getByRole("region", { name: "Kept" }).waitFor();

    await page.getByRole("button", { name: "Add tab" }).click();
    let d = await stored(id, (x) => x.tabs.length === 2, "two tabs");
    assert.equal(d.tabs[0]!.value, "Overview");
    assert.equal(placeOf(d, w).tab, d.tabs[0]!.key, "the widget stays on the first tab");
    await page.getByRole("tab", { name: "Tab 2" }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "Tab 2" }).getAttribute("aria-selected"), "true");

    await page.getByLabel("Tab name").fill("Pumps");
    await page.getByRole("button", { name: "Rename tab" }).click();
    d = await stored(id, (x) => x.tabs[1]?.value === "Pumps", "the new name");
    await page.getByRole("button", { name: "Hide tab from viewers" }).click();
    d = await stored(id, (x) => x.tabs[1]?.hidden === true, "the tab hidden");
    await screenshot(page, "dashboard-tabs-edit");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Viewers do not see a hidden tab: with one visible tab left, no tab bar at all.
    await page.getByRole("button", { name: "Done editing" }).click();
    await page.getByRole("region", { name: "Kept" }).waitFor();
    assert.equal(await page.getByRole("tab").count(), 0);

    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("tab", { name: /Pumps/ }).click();
    await page.getByRole("button", { name: "Delete tab" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete tab" }).click();
    d = await stored(id, (x) => x.tabs.length === 1, "the tab deleted");
    assert.equal(d.tabs[0]!.value, "Overview");
    assert.equal(d.arrangement.length, 1);

    // Settings: a new name, and a blueprint with a slot.
    await page.getByRole("button", { name: "Dashboard settings" }).click();
    const settings = page.getByRole("form", { name: "Dashboard settings" });
    await settings.getByLabel("Name", { exact: true }).fill("Pump house");
    await settings.getByRole("radio", { name: /Blueprint/ }).check();
    await settings.getByRole("button", { name: "Add slot" }).click();
    await settings.getByLabel("Slot 1 name").fill("Pump");
    await settings.getByLabel("Tag 1 key").fill("kind");
    await settings.getByLabel("Tag 1 value").fill("pump*");
    await screenshot(page, "dashboard-settings-dark");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await settings.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("heading", { level: 1, name: "Pump house" }).waitFor();
    d = await stored(id, (x) => x.type === "blueprint", "the settings");
    assert.equal(d.label, "Pump house");
    assert.deepEqual(d.blueprint_devices.map((b) => [b.name, b.conditions]), [["Pump", [{ key: "kind", value: "pump*" }]]]);
    assert.deepEqual(pageErrors, []);
  });
});
