import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { shareViewUrl } from "../../src/dashboards/share_view.js";
import { launchBrowser, openConsole, screenshot, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Review 13: what a device writes reaches the console and the public share view; it must show as
// text, never as markup (the page's CSP stops scripts, not injected links, images or forms).

const HOSTILE = '<b id="injected">bold</b><img id="beacon" src="https://attacker.example/x.png"><a id="phish" href="https://attacker.example/">log in again</a>';

describe("device data in the share view", () => {
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

  const api = async <T>(method: string, path: string, body?: unknown, token = sluice.adminToken): Promise<T> => {
    const response = await fetch(`${sluice.api}${path}`, {
      method,
      headers: { token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as { status: boolean; result: T; message?: string };
    assert.ok(json.status, `${method} ${path}: ${json.message}`);
    return json.result;
  };

  test("a map marker's tooltip shows a device's hostile value and variable as text", async () => {
    const tracker = await sluice.device();
    // The device itself writes the record: its token is all an attacker on the device side holds.
    await api("POST", "/data", [{ variable: "position", value: HOSTILE, location: { type: "Point", coordinates: [-9.14, 38.71] } }], tracker.token);
    const dashboard = (await api<{ dashboard: string }>("POST", "/dashboard", { label: "Fleet" })).dashboard;
    const widget = (await api<{ widget: string }>("POST", `/dashboard/${dashboard}/widget`, { label: "Map", type: "map", data: [{ origin: tracker.deviceId }], display: { points: 10, track: false, tile_url: "http://127.0.0.1:9/{z}/{x}/{y}.png" } })).widget;
    await api("PUT", `/dashboard/${dashboard}`, { arrangement: [{ widget_id: widget, x: 0, y: 0, width: 12, height: 6 }] });
    const { token } = await api<{ token: string }>("GET", `/dashboard/${dashboard}/share/public`);

    const { page, context } = await openConsole(browser, shareViewUrl(sluice.api, token));
    try {
      const marker = page.locator("path.map-marker");
      await marker.waitFor({ timeout: 15_000 });
      await marker.hover();
      const tooltip = page.locator(".leaflet-tooltip");
      await tooltip.waitFor({ timeout: 5_000 });
      await screenshot(page, "review13-map-tooltip");
      assert.match((await tooltip.textContent()) ?? "", /<b id="injected">bold<\/b>/);
      assert.equal(await page.locator("#injected, #beacon, #phish").count(), 0);
    } finally {
      await context.close();
    }
  });

  test("a hostile key after # never sends the viewer's session to the account's API", async () => {
    const { page, context } = await openConsole(browser, sluice.api);
    try {
      await signIn(page, sluice);
      // "..": the share view's /share/../dashboard is /dashboard, with the signed-in viewer's cookie.
      const seen: { path: string; cookie: boolean }[] = [];
      page.on("request", (request) => {
        const url = new URL(request.url());
        // The share view's own requests: the console page signed in before it may still reconnect
        // its event stream while the browser leaves it, and that request is the console's.
        if (!request.frame().url().startsWith(`${sluice.api}/view`)) return;
        if (url.origin === new URL(sluice.api).origin) seen.push({ path: url.pathname, cookie: (request.headers().cookie ?? "") !== "" || request.headers()["x-sluice-csrf"] !== undefined });
      });
      for (const hostile of ["..", "%2E%2E", "../events", "."]) {
        seen.length = 0;
        await page.goto(`${sluice.api}/view#${hostile}`);
        await page.getByText(/link is (incomplete|unknown)|not a public link/i).waitFor({ timeout: 10_000 });
        await page.waitForTimeout(300);
        const outside = seen.filter((r) => r.path !== "/view" && !r.path.startsWith("/assets/") && !r.path.startsWith("/share/"));
        assert.deepEqual(outside, [], `${hostile}: ${JSON.stringify(seen)}`);
      }
      await screenshot(page, "review13-hostile-key");
    } finally {
      await context.close();
    }
  });
});
