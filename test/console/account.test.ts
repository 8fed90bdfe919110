import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The account page: usage charts against the plan's limits, account tokens shown once and
// revoked, users added and removed, and a password changed then used to sign in.

describe("the account page", () => {
  let sluice: TestSluice;
  let browser: Browser;
  before(async () => {
    // A plan with limits, so there is something to chart against.
    sluice = await startSluice({ defaultPlan: "free" });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
  });

  const api = (path: string, token = sluice.adminToken) => fetch(`${sluice.api}${path}`, { headers: { token } });

  test("plan and usage: a bar chart per group against the limits, numbers in a table; light, dark, phone", async () => {
    // Some use to show: two devices (of the free plan's 10).
    await sluice.device();
    await sluice.device();
    // And this month: 150 notifications (of 1 000).
    for (let i = 0; i < 150; i++) {
      await fetch(`${sluice.api}/notification`, { method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" }, body: JSON.stringify({ title: `n${i}`, message: "m" }) });
    }
    for (const [name, width, dark] of [["account-usage-desktop", 1280, false], ["account-usage-phone-dark", 390, true]] as const) {
      const { page, context, foreignRequests, pageErrors } = await openConsole(browser, sluice.api, { height: 900, dark });
      await signIn(page, sluice);
      // Signed in wide (the phone folds the navigation signIn waits for), then at the width under test.
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${sluice.api}/#/account`);
      await page.getByRole("heading", { name: /This month/ }).waitFor();
      await page.locator(".bar-chart canvas").first().waitFor();
      assert.equal(await page.locator(".bar-chart canvas").count(), 3, "one chart per group");
      const devices = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "Devices", exact: true }) });
      assert.deepEqual(await devices.getByRole("cell").allTextContents(), ["2", "10", "20%"]);
      await screenshot(page, name);
      await page.getByRole("heading", { name: "Right now" }).scrollIntoViewIfNeeded();
      await screenshot(page, `${name}-now`);
      // Neither the page nor the main area (which scrolls by itself) is wider than the screen.
      const overflow = await page.evaluate(() => Math.max(...[document.documentElement, document.querySelector("main")!].map((e) => e.scrollWidth - e.clientWidth)));
      assert.equal(overflow, 0, `no horizontal scrolling at ${width} px`);
      assert.deepEqual(await seriousA11yViolations(page), []);
      // The chart's canvas draws something (not a blank box).
      const inked = await page.evaluate(() => {
        const canvas = document.querySelector(".bar-chart canvas") as HTMLCanvasElement;
        const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      });
      assert.ok(inked > 500, `the chart has ink (${inked} pixels)`);
      assert.deepEqual(foreignRequests, []);
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });

  test("account tokens: created with an expiry and shown once with a copy button, listed masked, revoked after asking", async () => {
    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/account/tokens`);
    const form = page.getByRole("form", { name: "New account token" });
    await form.getByLabel("Name").fill("ci pipeline");
    await form.getByLabel("Expires").selectOption("30 days");
    await form.getByRole("button", { name: "Create token" }).click();
    const once = form.getByRole("status").filter({ hasText: "it will not be shown again" });
    await once.waitFor();
    const token = (await once.locator("code").textContent())!.trim();
    assert.match(token, /^[0-9a-f-]{36}$/);
    assert.match((await once.textContent()) ?? "", /Expires: \d/);
    await once.getByRole("button", { name: "Copy token ci pipeline" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    assert.equal((await api("/account", token)).status, 200, "the token works");

    const row = page.getByRole("row", { name: /ci pipeline/ });
    await row.getByText(`${token.slice(0, 8)}-****`).waitFor();
    await screenshot(page, "account-tokens");
    assert.deepEqual(await seriousA11yViolations(page), []);
    await once.getByRole("button", { name: "Done" }).click();
    assert.equal(await page.getByText(token, { exact: true }).count(), 0, "shown once: gone after Done");

    await row.getByRole("button", { name: "Revoke token “ci pipeline”" }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await page.getByRole("row", { name: /ci pipeline/ }).waitFor({ state: "detached" });
    assert.equal((await api("/account", token)).status, 401, "revoked");
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("users: added, listed, removed", async () => {
    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/account/users`);
    const form = page.getByRole("form", { name: "Add a user" });
    await form.getByLabel("Name").fill("Ana Operator");
    await form.getByLabel("Email").fill("ana@example.com");
    await form.getByLabel(/First password/).fill("ana-password-1");
    await form.getByRole("button", { name: "Add user" }).click();
    await form.getByText("ana@example.com can now sign in.").waitFor();
    const row = page.getByRole("row", { name: /ana@example\.com/ });
    await row.waitFor();
    await screenshot(page, "account-users");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // The API's own words for a refused user.
    await form.getByLabel("Name").fill("Ana again");
    await form.getByLabel("Email").fill("ana@example.com");
    await form.getByLabel(/First password/).fill("ana-password-2");
    await form.getByRole("button", { name: "Add user" }).click();
    await form.getByRole("alert").waitFor();

    await row.getByRole("button", { name: "Remove user ana@example.com" }).click();
    await row.getByRole("button", { name: "Yes, remove" }).click();
    await page.getByRole("row", { name: /ana@example\.com/ }).waitFor({ state: "detached" });
    const users = (await (await api("/account/user")).json()) as { result: { email: string }[] };
    assert.ok(!users.result.some((u) => u.email === "ana@example.com"));
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("change password, sign out, sign in with the new one; the old one gets the API's refusal", async () => {
    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    const { email, password } = await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/account/password`);
    const form = page.getByRole("form", { name: "Change your password" });
    await form.getByLabel("Current password").fill("not the password");
    await form.getByLabel(/^New password/).fill("a brand new password");
    await form.getByLabel("Repeat the new password").fill("a brand new password");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByRole("alert").filter({ hasText: "current_password is not the user's password" }).waitFor();

    await form.getByLabel("Current password").fill(password);
    // The wrong try is throttled like a failed sign-in: the API's 429 says to wait.
    await untilNotThrottled(page, () => form.getByRole("button", { name: "Change password" }).click(), form.getByText("Password changed."));
    await screenshot(page, "account-password");
    assert.deepEqual(await seriousA11yViolations(page), []);

    await page.getByRole("button", { name: "Sign out" }).click();
    await login(page, email, password);
    await untilNotThrottled(page, () => page.getByRole("button", { name: "Sign in" }).click(), page.getByRole("alert").filter({ hasText: "Wrong email or password" }));
    await login(page, email, "a brand new password");
    await untilNotThrottled(page, () => page.getByRole("button", { name: "Sign in" }).click(), page.getByRole("heading", { name: "Devices" }));
    assert.match(page.url(), /#\/devices/);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  async function login(page: Page, email: string, password: string): Promise<void> {
    await page.getByRole("heading", { name: "Sign in to Sluice" }).waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
  }

  /** Submits until `done` shows, while the answer is the sign-in throttle's 429 (it names the wait). */
  async function untilNotThrottled(page: Page, submit: () => Promise<void>, done: Locator): Promise<void> {
    const throttled = page.getByRole("alert").filter({ hasText: "too many failed sign-ins" });
    for (let i = 0; i < 20; i++) {
      await submit();
      await done.or(throttled).first().waitFor();
      if (await done.isVisible()) return;
      await page.waitForTimeout(400);
    }
    throw new Error("still throttled");
  }
});
