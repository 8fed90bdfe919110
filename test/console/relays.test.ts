import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import type { RelayJson } from "../../src/http/api_types.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startMosquitto, type TestMosquitto } from "../helpers/mosquitto.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Relays in the console, against a real Mosquitto: created in the form, seen connecting live;
// the broker going away and coming back shows live in the list; TLS by uploading the CA file;
// credentials never shown back.

describe("the relays pages", () => {
  let mosq: TestMosquitto;
  let sluice: TestSluice;
  let browser: Browser;
  before(async () => {
    mosq = await startMosquitto();
    sluice = await startSluice();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
    await mosq?.close();
  });

  const relays = async () => ((await (await fetch(`${sluice.api}/relay`, { headers: { token: sluice.adminToken } })).json()) as { result: RelayJson[] }).result;

  test("create a relay to Mosquitto and see it connect live; the list follows the broker going and coming back", async () => {
    const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Relays" }).click();
    await page.getByText("No relay yet.").waitFor();
    await page.getByRole("link", { name: "New relay" }).click();
    const form = page.getByRole("form", { name: "New relay" });
    await form.getByLabel("Name", { exact: true }).fill("Plant A");
    // A broker URL pasted in the host field fills host, port and TLS.
    const host = form.getByLabel("Host or broker URL");
    await host.fill(`mqtt://127.0.0.1:${mosq.port}`);
    await host.blur();
    assert.equal(await host.inputValue(), "127.0.0.1");
    assert.equal(await form.getByLabel("Port", { exact: true }).inputValue(), String(mosq.port));
    await form.getByLabel("Username").fill(mosq.user);
    await form.getByLabel("Password", { exact: true }).fill(mosq.password);
    await form.getByLabel("Subscription 1 topic filter").fill("plant/+/up");
    await form.getByLabel("Topic level (0 first, -1 last)").fill("1");
    // Faster retries than the default, for the broker restart below.
    await form.getByText("Advanced").click();
    await form.getByLabel("First retry after (ms)").fill("200");
    await form.getByLabel("Longest retry wait (ms)").fill("500");
    await screenshot(page, "relay-new");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await form.getByRole("button", { name: "Create relay" }).click();

    await page.waitForURL(/#\/relays\/[0-9a-f]{24}$/);
    const status = page.getByRole("region", { name: "Connection" });
    await status.locator(".relay-state.connected").waitFor({ timeout: 15_000 });
    await status.getByText(/connected to 127\.0\.0\.1/).waitFor();
    // Write-only: the password field is empty and says a password is stored.
    const settings = page.getByRole("form", { name: "Relay settings" });
    assert.equal(await settings.getByLabel("Password", { exact: true }).inputValue(), "");
    assert.match((await settings.getByLabel("Password", { exact: true }).getAttribute("placeholder")) ?? "", /Stored/);
    assert.equal(await page.getByText(mosq.password).count(), 0);
    await page.evaluate(() => document.querySelector("main")!.scrollTo(0, 0));
    await screenshot(page, "relay-connected");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Messages count in.
    mosq.pub("plant/SN-1/up", "x");
    await status.getByRole("button", { name: "Refresh counters" }).click();
    await status.locator(".counter").filter({ hasText: "received" }).locator(".n").filter({ hasText: /^[1-9]/ }).waitFor();

    await page.getByRole("link", { name: "All relays" }).click();
    const row = page.getByRole("row", { name: /Plant A/ });
    await row.getByText("Connected").waitFor();
    await mosq.stop();
    await row.getByText("Disconnected, retrying").waitFor({ timeout: 15_000 });
    await screenshot(page, "relays-list-disconnected");
    await mosq.start();
    await row.getByText("Connected", { exact: true }).waitFor({ timeout: 15_000 });
    await screenshot(page, "relays-list");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("TLS with the CA uploaded as a file; edits keep the stored password; dark on a phone; delete", async () => {
    const [relay] = await relays();
    assert.ok(relay);
    const caFile = join(mosq.dir, "upload-ca.pem");
    writeFileSync(caFile, mosq.ca);
    const { page, context, pageErrors } = await openConsole(browser, sluice.api, { dark: true });
    await signIn(page, sluice);
    // Signed in wide (the phone folds the navigation signIn waits for), then on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${sluice.api}/#/relays/${relay.id}`);
    const form = page.getByRole("form", { name: "Relay settings" });
    await form.getByLabel("Name", { exact: true }).waitFor();
    await form.getByRole("checkbox", { name: /^TLS/ }).check();
    await form.getByLabel("Port", { exact: true }).fill(String(mosq.tlsPort));
    await form.getByLabel("Choose the CA certificate file (PEM)").setInputFiles(caFile);
    await form.getByText(/upload-ca\.pem: 1 certificate/).waitFor();
    await form.getByRole("button", { name: "Save and reconnect" }).click();
    await form.getByText("Saved: the relay reconnects").waitFor();
    const status = page.getByRole("region", { name: "Connection" });
    await status.getByText(new RegExp(`connected to 127\\.0\\.0\\.1:${mosq.tlsPort}`)).waitFor({ timeout: 15_000 });
    await status.locator(".relay-state.connected").waitFor();
    const stored = (await relays()).find((r) => r.id === relay.id)!;
    assert.equal(stored.tls, true);
    assert.equal(stored.ca?.trim(), mosq.ca.trim());
    assert.equal(stored.password, "********", "the password was kept");
    await page.evaluate(() => document.querySelector("main")!.scrollTo(0, 0));
    await screenshot(page, "relay-phone-dark");
    // Neither the page nor the main area (which scrolls by itself) is wider than the screen.
    const overflow = await page.evaluate(() => Math.max(...[document.documentElement, document.querySelector("main")!].map((e) => e.scrollWidth - e.clientWidth)));
    assert.equal(overflow, 0, "no horizontal scrolling at 390 px");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // A file that is not PEM is refused before anything is sent.
    const bad = join(mosq.dir, "not-pem.crt");
    writeFileSync(bad, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    await form.getByLabel("Choose the Client certificate file (PEM)").setInputFiles(bad);
    await form.getByRole("alert").filter({ hasText: "not-pem.crt is not PEM text" }).waitFor();

    // The API's words for a bad value.
    await form.getByLabel("Port", { exact: true }).fill("70000");
    await form.getByRole("button", { name: "Save and reconnect" }).click();
    await form.getByRole("alert").filter({ hasText: "port must be an integer from 1 to 65535" }).waitFor();

    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.waitForURL(/#\/relays$/);
    await page.getByText("No relay yet.").waitFor();
    assert.deepEqual(await relays(), []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
