import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn, type ConsolePage } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The devices area in a real browser against a real Sluice: create a device, take its token
// with the copy button, connect and publish with Mosquitto's clients and watch the console
// follow live; params; accessibility, a phone's width and the dark theme.

const run = promisify(execFile);

describe("console: devices", () => {
  let sluice: TestSluice;
  let browser: Browser;
  let view: ConsolePage;
  let page: Page;
  const children: ChildProcess[] = [];
  let deviceUrl = "";
  let writeToken = "";

  before(async () => {
    sluice = await startSluice();
    browser = await launchBrowser();
    view = await openConsole(browser, sluice.api);
    page = view.page;
    // Neighbours in the list, so the live changes must find their own row.
    for (const name of ["weather 10", "weather 2", "pump station"]) {
      await fetch(`${sluice.api}/device`, { method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify({ name, tags: [{ key: "site", value: "south" }] }) });
    }
    await signIn(page, sluice);
    await page.getByRole("heading", { name: "Devices" }).waitFor();
  });
  after(async () => {
    for (const child of children) child.kill();
    await browser?.close();
    await sluice?.close();
  });

  const noSeriousViolations = async () => assert.deepEqual(await seriousA11yViolations(page), []);

  test("the list orders names as people read them", async () => {
    await page.getByRole("link", { name: "weather 10" }).waitFor();
    assert.deepEqual(await page.locator("table.devices-table tbody td:nth-child(2) a").allTextContents(), ["pump station", "weather 2", "weather 10"]);
    await noSeriousViolations();
  });

  test("create a device with a tag; its page shows the first token once, and the copy button copies it", async () => {
    await page.getByRole("button", { name: "New device" }).click();
    await page.getByLabel("Name", { exact: true }).fill("greenhouse 1");
    await page.getByRole("button", { name: "Add tag", exact: true }).click();
    await page.getByLabel("Tag 1 key").fill("site");
    await page.getByLabel("Tag 1 value").fill("north");
    await screenshot(page, "devices-create");
    await page.getByRole("button", { name: "Create device" }).click();
    await page.waitForURL(/#\/devices\/[^/]+\/general$/);
    deviceUrl = page.url();
    const token = await page.getByTestId("fresh-token").textContent();
    assert.match(token ?? "", /^[\w-]{20,}$/);
    await page.getByRole("button", { name: /^Cop(y|ied) the new token$/ }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    // The commands carry it, with this server's host and port.
    const pub = await page.getByTestId("snippet-pub").textContent();
    assert.ok(pub?.includes(`-h 127.0.0.1 -p ${sluice.ports.mqtt} -u Token -P '${token}'`), pub ?? "");
    await page.getByRole("heading", { name: "Tokens" }).waitFor();
    await screenshot(page, "device-general-new");
    await page.getByRole("heading", { name: "How to connect" }).scrollIntoViewIfNeeded();
    await screenshot(page, "device-general-connect");
    await noSeriousViolations();
  });

  test("create a write token with an expiry, copy it, publish with mosquitto_pub: connection and last input follow live", async () => {
    await page.getByLabel("Token name").fill("field unit");
    await page.getByLabel("Permission").selectOption("write");
    await page.getByLabel("Expires").selectOption("1 week");
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByText("New token “field unit”").waitFor();
    await page.getByRole("button", { name: /^Cop(y|ied) the new token$/ }).click();
    writeToken = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(writeToken, await page.getByTestId("fresh-token").textContent());
    await page.getByRole("cell", { name: "field unit", exact: true }).waitFor();
    assert.equal(await page.getByRole("table", { name: "Tokens of this device" }).locator("tbody tr").count(), 2);

    assert.equal(await page.locator(".state-line").getByText("Not connected").count(), 1);
    await page.locator(".state-line").getByText("never").waitFor();
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", writeToken, "-t", "sensors/temperature", "-m", '{"variable":"temperature","value":21.5}', "-q", "1"]);
    await page.locator(".state-line").getByText(/\d+ s ago/).waitFor({ timeout: 5000 });
    await screenshot(page, "device-general-live");
  });

  test("the list shows the device connected and its last input, and follows a disconnection live", async () => {
    const sub = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", await fullTokenOf(page), "-t", "commands/#", "-i", "console-test-sub"]);
    children.push(sub);
    await page.goto(`${sluice.api}/#/devices`);
    const row = page.getByRole("row", { name: /greenhouse 1/ });
    await row.getByText("Connected", { exact: true }).waitFor({ timeout: 5000 });
    await row.getByText(/\d+ s ago/).waitFor();
    await row.getByText("site: north").waitFor();
    await screenshot(page, "devices-list");
    await noSeriousViolations();
    sub.kill();
    await row.getByText("Not connected").waitFor({ timeout: 5000 });
  });

  test("search, tag filter and sorting narrow and order the list through the address", async () => {
    await page.getByLabel("Search by name").fill("greenh");
    await page.waitForURL(/q=greenh/);
    await page.getByRole("link", { name: "pump station" }).waitFor({ state: "detached" });
    assert.equal(await page.locator("table.devices-table tbody tr").count(), 1);
    await page.getByLabel("Search by name").fill("");
    await page.waitForURL((url) => !url.hash.includes("q="));
    await page.getByLabel("Tag key").fill("site");
    await page.getByLabel("Tag value").fill("south");
    await page.getByRole("button", { name: "Add tag filter" }).click();
    await page.getByRole("link", { name: "greenhouse 1" }).waitFor({ state: "detached" });
    assert.equal(await page.locator("table.devices-table tbody tr").count(), 3);
    await page.getByLabel("Tag value").fill("east");
    await page.getByLabel("Tag key").fill("site");
    await page.getByRole("button", { name: "Add tag filter" }).click();
    await page.getByText("No device matches these filters.").waitFor();
    await page.getByRole("button", { name: "Remove tag filter site: east" }).click();
    await page.getByRole("button", { name: "Remove tag filter site: south" }).click();
    await page.getByRole("button", { name: "Last input" }).click();
    await page.waitForURL(/sort=last_input/);
    assert.match(await page.locator("table.devices-table tbody tr").first().textContent() ?? "", /greenhouse 1/);
  });

  test("configuration params: add, edit, mark sent, delete", async () => {
    await page.goto(deviceUrl.replace(/general$/, "params"));
    await page.getByRole("heading", { name: "Add a param" }).waitFor();
    await page.getByLabel("Key", { exact: true }).fill("interval");
    await page.getByLabel("Value", { exact: true }).fill("60");
    await page.getByRole("button", { name: "Add param" }).click();
    await page.getByRole("cell", { name: "interval", exact: true }).waitFor();
    await page.getByRole("button", { name: "Edit interval" }).click();
    await page.getByLabel("Value of interval").fill("30");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("cell", { name: "30", exact: true }).waitFor();
    await page.getByRole("button", { name: "Mark sent: interval" }).click();
    await page.getByRole("cell", { name: "Sent", exact: true }).waitFor();
    await page.getByLabel("Key", { exact: true }).fill("mode");
    await page.getByLabel("Value", { exact: true }).fill("eco");
    await page.getByRole("button", { name: "Add param" }).click();
    await page.getByRole("cell", { name: "mode", exact: true }).waitFor();
    await screenshot(page, "device-params");
    await noSeriousViolations();
    await page.getByRole("button", { name: "Delete mode" }).click();
    await page.getByRole("cell", { name: "mode", exact: true }).waitFor({ state: "detached" });
    const stored = await (await fetch(`${sluice.api}/device/${deviceUrl.split("/").at(-2)}/params`, { headers: { token: sluice.adminToken } })).json() as { result: { key: string; value: string; sent: boolean }[] };
    assert.deepEqual(stored.result.map(({ key, value, sent }) => ({ key, value, sent })), [{ key: "interval", value: "30", sent: true }]);
  });

  test("at 390 px and in the dark theme: no horizontal scrolling, no serious violation", async () => {
    for (const [name, width, dark] of [["devices-phone", 390, false], ["devices-dark", 1280, true]] as const) {
      const other = await openConsole(browser, sluice.api, { dark });
      // Signed in wide (the helper waits for the side navigation, folded away on a phone), then narrowed.
      await signIn(other.page, sluice);
      await other.page.setViewportSize({ width, height: 800 });
      for (const [where, shot, ready] of [["#/devices", `${name}-list`, "link"], [new URL(deviceUrl).hash, `${name}-general`, "snippet"]] as const) {
        await other.page.goto(`${sluice.api}/${where}`);
        if (ready === "link") await other.page.getByRole("link", { name: "greenhouse 1" }).waitFor();
        else await other.page.getByTestId("snippet-pub").waitFor();
        await screenshot(other.page, shot);
        assert.deepEqual(await seriousA11yViolations(other.page), [], shot);
        // Neither the page nor its main area scrolls sideways (wide tables scroll in their own box).
        const overflow = await other.page.evaluate(() => [document.documentElement, document.querySelector("main")!].map((e) => e.scrollWidth - e.clientWidth));
        assert.deepEqual(overflow, [0, 0], `${shot}: no horizontal scrolling`);
      }
      assert.deepEqual(other.foreignRequests, []);
      assert.deepEqual(other.pageErrors, []);
      await other.context.close();
    }
  });

  test("delete the device after confirming", async () => {
    await page.goto(deviceUrl);
    await page.getByRole("button", { name: "Delete device" }).click();
    await page.getByRole("button", { name: "Delete “greenhouse 1” for good" }).click();
    await page.waitForURL(/#\/devices$/);
    await page.getByRole("heading", { name: "Devices" }).waitFor();
    assert.equal(await page.getByText("greenhouse 1").count(), 0);
    assert.deepEqual(view.foreignRequests, []);
    assert.deepEqual(view.pageErrors, []);
  });
});

/** A full token of the device open in `page`, made through the console (and shown once). */
async function fullTokenOf(page: Page): Promise<string> {
  await page.getByLabel("Token name").fill("listener");
  await page.getByLabel("Permission").selectOption("full");
  await page.getByLabel("Expires").selectOption("never");
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("New token “listener”").waitFor();
  return (await page.getByTestId("fresh-token").textContent()) ?? "";
}
