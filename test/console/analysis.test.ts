import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Analyses in the console: create one, write its script in the editor, give it an environment
// variable, run it with a scope, and watch its `context.log` line arrive in the live console.

const SCRIPT = `const { Analysis } = require("@tago-io/sdk");

Analysis.use(async (context, scope) => {
  const greeting = context.environment.find((v) => v.key === "GREETING").value;
  context.log(greeting, "from the console test:", scope[0].value);
});
`;

describe("the analyses pages", () => {
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

  /** Replaces an editor's whole text (insertText: no key events, so no auto-closed brackets). */
  async function setEditor(page: Page, name: string, text: string): Promise<void> {
    const editor = page.getByRole("textbox", { name });
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(text);
  }

  test("create, script, environment, run with a scope: the logged line arrives live in the console", async () => {
    const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Analyses" }).click();
    await page.getByRole("heading", { name: "Analyses" }).waitFor();
    await page.getByRole("button", { name: "New analysis" }).click();
    await page.getByRole("form", { name: "New analysis" }).getByLabel("Name").fill("Console test");
    await page.getByRole("button", { name: "Create and open" }).click();
    await page.waitForURL(/#\/analyses\/[0-9a-f]{24}$/);
    const id = /analyses\/([0-9a-f]{24})$/.exec(page.url())![1]!;
    await page.getByRole("heading", { name: "Console test" }).waitFor();
    // A new analysis opens on the SDK's template, not yet uploaded.
    await page.getByText("Unsaved changes").first().waitFor();

    await setEditor(page, "Analysis script", SCRIPT);
    await page.getByRole("button", { name: "Save script" }).click();
    await page.getByText("Saved, version 1").waitFor();

    const settings = page.getByRole("form", { name: "Settings and environment" });
    await settings.getByRole("button", { name: "Add variable" }).click();
    await settings.getByLabel("Variable 1 name").fill("GREETING");
    await settings.getByLabel(/Variable 1 value/).fill("hello");
    // Masked until shown.
    assert.equal(await settings.getByLabel(/Variable 1 value/).getAttribute("type"), "text"); // a new row starts shown
    await settings.getByRole("button", { name: "Hide the value of GREETING" }).click();
    assert.equal(await settings.getByLabel(/Variable 1 value/).getAttribute("type"), "password");
    await settings.getByRole("button", { name: "Save settings" }).click();
    await settings.getByText("Saved", { exact: true }).waitFor();

    await setEditor(page, "Run scope (JSON)", `[{ "variable": "temperature", "value": 21.5 }]`);
    await page.getByRole("button", { name: "Run now" }).click();
    await page.getByRole("status").filter({ hasText: /Run #1 (queued|started)/ }).waitFor();

    const consoleList = page.getByRole("list", { name: "Console lines" });
    await consoleList.getByText("hello from the console test: 21.5").waitFor({ timeout: 20_000 });
    // The run queue saw it end.
    await page.getByRole("list", { name: "Runs of this analysis" }).getByText("finished").waitFor({ timeout: 20_000 });

    // A line opens in full.
    await consoleList.getByText("hello from the console test: 21.5").click();
    await page.locator(".console-full").getByText("hello from the console test: 21.5").waitFor();
    await screenshot(page, "analysis-desktop");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // The script reads back as saved after a reload.
    await page.reload();
    await page.getByRole("textbox", { name: "Analysis script" }).getByText("from the console test:").waitFor();
    await page.getByText("Version 1").waitFor();
    // The console keeps its lines (the server's history).
    await page.getByRole("list", { name: "Console lines" }).getByText("hello from the console test: 21.5").waitFor();

    // The list shows it, with its last run.
    await page.getByRole("link", { name: "All analyses" }).click();
    const row = page.getByRole("list", { name: "Analyses" }).getByRole("listitem").filter({ hasText: "Console test" });
    await row.getByText("Active").waitFor();
    assert.doesNotMatch((await row.textContent()) ?? "", /Never/);
    await screenshot(page, "analyses-list-desktop");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Deleting asks first.
    await page.goto(`${sluice.api}/#/analyses/${id}`);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.waitForURL(/#\/analyses$/);
    await page.getByText("No analysis yet").waitFor();

    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("dark and on a phone: the page fits 390 px, the token is masked until shown, regenerating asks first", async () => {
    const created = await (await fetch(`${sluice.api}/analysis`, { method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify({ name: "Phone one" }) })).json() as { result: { id: string; token: string } };
    const { id, token } = created.result;
    const { page, context, pageErrors } = await openConsole(browser, sluice.api, { dark: true });
    await signIn(page, sluice);
    // Signed in wide (the phone folds the navigation signIn waits for), then on a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${sluice.api}/#/analyses/${id}`);
    await page.getByRole("heading", { name: "Phone one" }).waitFor();
    await page.getByRole("textbox", { name: "Analysis script" }).waitFor();
    await screenshot(page, "analysis-phone-dark");
    // Neither the page nor the main area (which scrolls by itself) is wider than the screen.
    const overflow = await page.evaluate(() => Math.max(...[document.documentElement, document.querySelector("main")!].map((e) => e.scrollWidth - e.clientWidth)));
    assert.equal(overflow, 0, "no horizontal scrolling at 390 px");
    assert.deepEqual(await seriousA11yViolations(page), []);

    const tokenCard = page.getByRole("region", { name: "Analysis token" });
    assert.equal(await tokenCard.getByText(token).count(), 0, "masked");
    await tokenCard.getByRole("button", { name: "Show analysis token" }).click();
    await tokenCard.getByText(token).waitFor();
    await tokenCard.getByRole("button", { name: "Regenerate token" }).click();
    await tokenCard.getByRole("button", { name: "Yes, regenerate" }).click();
    await tokenCard.getByText("A new token was made").waitFor();
    await tokenCard.getByText(token).waitFor({ state: "detached" }); // the new one replaced it
    const old = await fetch(`${sluice.api}/analysis`, { headers: { token } });
    assert.equal(old.status, 401);
    await tokenCard.scrollIntoViewIfNeeded();
    await screenshot(page, "analysis-phone-dark-token");

    await page.goto(`${sluice.api}/#/analyses`);
    await page.getByRole("list", { name: "Analyses" }).getByText("Phone one").waitFor();
    await screenshot(page, "analyses-list-phone-dark");
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
