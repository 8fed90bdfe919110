import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Notifications in the console: one sent through the API appears live in the bell and on the
// page; marking read there updates the bell's count; mark all, delete, mark unread.

describe("the notifications page and the bell", () => {
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

  async function send(title: string, message: string): Promise<string> {
    const res = await fetch(`${sluice.api}/notification`, {
      method: "POST",
      headers: { token: sluice.adminToken, "content-type": "application/json" },
      body: JSON.stringify({ title, message }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { result: { id: string } }).result.id;
  }
  const bell = (page: Page, count: string) => page.getByRole("button", { name: `Notifications: ${count} unread` });

  test("sent through the API, it appears live in the bell and the list; marking read updates the count", async () => {
    const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/notifications`);
    await page.getByRole("heading", { name: "Notifications" }).waitFor();
    await page.getByText("No notifications.").waitFor();
    await bell(page, "0").waitFor();
    // The live stream is open before anything is sent.
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();

    await send("Freezer warm", "Freezer 2 reads -4 °C (limit -12 °C)");
    const list = page.getByRole("list", { name: "Notifications, page 1" });
    const item = list.getByRole("listitem").filter({ hasText: "Freezer warm" });
    await item.waitFor({ timeout: 10_000 });
    await item.getByText("Unread", { exact: true }).waitFor();
    await bell(page, "1").waitFor();
    await page.getByText("1 unread").waitFor();
    await screenshot(page, "notifications-desktop");
    assert.deepEqual(await seriousA11yViolations(page), []);

    await item.getByRole("button", { name: "Mark read: “Freezer warm”" }).click();
    await bell(page, "0").waitFor();
    await page.getByText("All read", { exact: true }).waitFor();
    assert.equal(await item.getByText("Unread", { exact: true }).count(), 0);
    // And back.
    await item.getByRole("button", { name: "Mark unread: “Freezer warm”" }).click();
    await bell(page, "1").waitFor();

    await send("Door open", "Cold room door open for 5 minutes");
    await send("Battery low", "Sensor 7 battery at 9 %");
    await bell(page, "3").waitFor();
    // The bell's panel lists them and marks one read; the page follows the same record.
    await bell(page, "3").click();
    const panel = page.getByRole("dialog", { name: "Unread notifications" });
    await panel.getByText("Battery low").waitFor();
    await screenshot(page, "notifications-bell-open");
    await panel.getByRole("button", { name: "Mark read: “Battery low”" }).click();
    await bell(page, "2").waitFor();
    await page.keyboard.press("Escape");
    await page.getByText("2 unread").waitFor();

    await page.getByRole("button", { name: "Mark all read" }).click();
    await bell(page, "0").waitFor();
    assert.equal(await list.getByText("Unread", { exact: true }).count(), 0);

    await list.getByRole("button", { name: "Delete “Door open”" }).click();
    await list.getByRole("button", { name: "Yes, delete" }).click();
    await list.getByText("Door open", { exact: true }).waitFor({ state: "detached" });
    const left = (await (await fetch(`${sluice.api}/notification?amount=50`, { headers: { token: sluice.adminToken } })).json()) as { result: { title: string }[] };
    assert.deepEqual(left.result.map((n) => n.title).sort(), ["Battery low", "Freezer warm"]);

    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("dark, on a phone, and paged: older ones on the next page", async () => {
    for (let i = 1; i <= 30; i++) await send(`Reading ${i}`, `Value ${i}`);
    const { page, context, pageErrors } = await openConsole(browser, sluice.api, { dark: true });
    await signIn(page, sluice);
    // Signed in wide (the phone folds the navigation signIn waits for), then on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${sluice.api}/#/notifications`);
    await page.getByRole("list", { name: "Notifications, page 1" }).getByText("Reading 30", { exact: true }).waitFor();
    await screenshot(page, "notifications-phone-dark");
    // Neither the page nor the main area (which scrolls by itself) is wider than the screen.
    const overflow = await page.evaluate(() => Math.max(...[document.documentElement, document.querySelector("main")!].map((e) => e.scrollWidth - e.clientWidth)));
    assert.equal(overflow, 0, "no horizontal scrolling at 390 px");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole("button", { name: "Older" }).click();
    await page.getByRole("list", { name: "Notifications, page 2" }).waitFor();
    assert.ok(page.url().endsWith("#/notifications?page=2"));
    await page.getByRole("button", { name: "Newer" }).click();
    await page.getByRole("list", { name: "Notifications, page 1" }).waitFor();
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
