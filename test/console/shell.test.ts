import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

describe("the console is served by Sluice itself", () => {
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

  test("GET / is the console's page, with a policy that forbids other hosts and inline scripts", async () => {
    const response = await fetch(`${sluice.api}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/html/);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await response.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, "the page loads its script from /assets/");
    const script = await fetch(`${sluice.api}${asset}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("cache-control") ?? "", /immutable/);
  });

  test("the API keeps its paths: an unknown path is still the API's JSON 404", async () => {
    const response = await fetch(`${sluice.api}/no-such-thing`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { status: boolean }).status, false);
  });

  test("signed out, the console shows the sign-in form: accessible, on a phone too, asking no other host", async () => {
    for (const [name, width, dark] of [["login-desktop", 1280, false], ["login-phone-dark", 390, true]] as const) {
      const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api, { width, dark });
      await page.getByRole("heading", { name: "Sign in to Sluice" }).waitFor();
      assert.ok(page.url().endsWith("#/login"));
      await screenshot(page, name);
      assert.deepEqual(await seriousA11yViolations(page), []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `no horizontal scrolling at ${width} px`);
      assert.deepEqual(foreignRequests, []);
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });

  test("a wrong password gets the API's own error; the right one opens the console, and signing out ends it", async () => {
    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    await page.getByLabel("Email").fill("nobody@example.com");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    // The API's words (routes/login.ts), with its status: nothing rephrased by the console.
    assert.equal(await alert.innerText(), "Wrong email or password (HTTP 401)");
    await screenshot(page, "login-wrong-password");

    await page.goto(`${sluice.api}/#/login`);
    const { email } = await signIn(page, sluice);
    await page.getByText(email).waitFor();
    await screenshot(page, "console-signed-in");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Sluice" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to Sluice" }).waitFor();
    assert.deepEqual(pageErrors, []);
    await context.close();
  });
});
