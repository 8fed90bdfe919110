import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The Live Inspector in a real browser against a real Sluice: a message published with the real
// mosquitto_pub appears live, its detail opens as hex and as JSON, and pause, filters, search
// and clear do what they say.

const run = promisify(execFile);

async function api<T>(sluice: TestSluice, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token: sluice.adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await response.json()) as { status: boolean; result: T; message?: string };
  assert.ok(envelope.status, `${method} ${path}: ${envelope.message}`);
  return envelope.result;
}

function publish(sluice: TestSluice, token: string, topic: string, message: string): Promise<unknown> {
  return run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", token, "-q", "1", "-t", topic, "-m", message]);
}

const rows = (page: Page, text: string) => page.locator(".insp-row", { hasText: text });

describe("the Live Inspector", () => {
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

  test("shows a published message live, with its detail as hex and JSON; pause, filter, search, clear", async () => {
    const device = await api<{ device_id: string; token: string }>(sluice, "POST", "/device", { name: "Greenhouse sensor" });
    const { page, context, pageErrors, foreignRequests } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/devices/${device.device_id}/inspector`);
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    assert.equal(await page.getByRole("switch", { name: "Record events" }).isChecked(), true);

    await publish(sluice, device.token, "greenhouse/up", JSON.stringify({ temperature: 21.5, unit: "C" }));
    const message = rows(page, "greenhouse/up");
    await message.waitFor();
    await rows(page, "disconnected").waitFor(); // mosquitto_pub's own DISCONNECT, with its reason code
    assert.match(await rows(page, "disconnected").innerText(), /reason 0x0/);
    assert.match(await message.innerText(), /"temperature":21.5/, "the row shows the start of the payload");

    await message.click();
    const detail = page.locator("#insp-detail");
    await detail.getByText("greenhouse/up").first().waitFor();
    assert.equal(await detail.getByRole("radio", { name: "JSON" }).isChecked(), true, "a JSON payload opens as JSON");
    assert.match(await detail.locator(".payload-body").innerText(), /"temperature": 21\.5/);
    await detail.getByText("Hex", { exact: true }).click();
    assert.match(await detail.locator(".payload-body").innerText(), /^0000 {2}7b 22 74 65 6d 70 65 72 {2}\{"temper\n0008 /);
    await screenshot(page, "inspector-detail-hex");
    await detail.getByText("JSON", { exact: true }).click();
    assert.match(await detail.locator(".payload-body").innerText(), /^\{\n {2}"temperature": 21\.5,\n {2}"unit": "C"\n\}$/);
    await screenshot(page, "inspector-detail-json");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Paused: events wait (counted), and appear on resume.
    await page.getByRole("button", { name: "Pause" }).click();
    await publish(sluice, device.token, "greenhouse/second", "second message");
    await page.getByText(/paused, [1-9]\d* new waiting/).waitFor();
    assert.equal(await rows(page, "greenhouse/second").count(), 0);
    await page.getByRole("button", { name: "Resume" }).click();
    await rows(page, "greenhouse/second").waitFor();

    // Kinds: messages in off, connections stay.
    await page.locator("summary", { hasText: "Kinds" }).click();
    await page.getByRole("checkbox", { name: "Messages in" }).uncheck();
    await rows(page, "greenhouse/up").waitFor({ state: "detached" });
    assert.ok((await rows(page, "connected as").count()) > 0);
    await page.getByRole("checkbox", { name: "Messages in" }).check();
    await page.locator("summary", { hasText: "Kinds" }).click();
    await rows(page, "greenhouse/up").waitFor();

    // Search: over summaries and details (the payload's text is in the detail).
    await page.getByRole("searchbox", { name: "Search events" }).fill("second message");
    await rows(page, "greenhouse/up").waitFor({ state: "detached" });
    assert.equal(await page.locator(".insp-row").count(), 1);
    await page.getByRole("searchbox", { name: "Search events" }).fill("");

    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByText("No events yet").waitFor();
    assert.equal(await page.locator(".insp-row").count(), 0);

    // A new message after clearing still arrives.
    await publish(sluice, device.token, "greenhouse/third", "3");
    await rows(page, "greenhouse/third").waitFor();
    await screenshot(page, "inspector-desktop");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("switching recording off is kept by the server, and the page says so", async () => {
    const device = await api<{ device_id: string; token: string }>(sluice, "POST", "/device", { name: "Switchable" });
    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/devices/${device.device_id}/inspector`);
    const toggle = page.getByRole("switch", { name: "Record events" });
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    await toggle.uncheck();
    await page.getByText("recording is off for this device").waitFor();
    assert.deepEqual(await api(sluice, "GET", `/device/${device.device_id}/inspector/state`), { device_id: device.device_id, enabled: false });
    await toggle.check();
    await page.getByText("recording is off for this device").waitFor({ state: "detached" });
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("dark theme and a 390 px phone: accessible, no sideways scrolling, detail below the list", async () => {
    const device = await api<{ device_id: string; token: string }>(sluice, "POST", "/device", { name: "Phone view" });
    for (const [name, width, dark] of [["inspector-dark", 1280, true], ["inspector-phone", 390, false], ["inspector-phone-dark", 390, true]] as const) {
      // Signed in at desktop width (the helper waits for the side navigation, folded on a phone), then narrowed.
      const { page, context, pageErrors } = await openConsole(browser, sluice.api, { height: 844, dark });
      await signIn(page, sluice);
      await page.setViewportSize({ width, height: 844 });
      await page.goto(`${sluice.api}/#/devices/${device.device_id}/inspector`);
      await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
      await publish(sluice, device.token, "phone/up", JSON.stringify([{ variable: "battery", value: 87, unit: "%" }]));
      await rows(page, "phone/up").last().click();
      await page.locator("#insp-detail .payload-body").waitFor();
      await screenshot(page, name);
      assert.deepEqual(await seriousA11yViolations(page), []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `no horizontal scrolling at ${width} px`);
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });
});
