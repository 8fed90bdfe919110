/**
 * Stand-in for `signIn(page, sluice)` of test/helpers/browser.ts until the users branch lands
 * in main: a new user of the admin account (`POST /account/user` with the admin token),
 * signed in through the console's form. Returns its email and password.
 */
import type { Page } from "playwright-core";

export async function signIn(page: Page, sluice: { api: string; adminToken: string }): Promise<{ email: string; password: string }> {
  const email = `user-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const password = "correct horse battery";
  const res = await fetch(`${sluice.api}/account/user`, {
    method: "POST",
    headers: { token: sluice.adminToken, "content-type": "application/json" },
    body: JSON.stringify({ email, name: "Test User", password }),
  });
  if (!res.ok) throw new Error(`creating the user: ${res.status} ${await res.text()}`);
  await page.goto(`${sluice.api}/#/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/#\/devices/);
  return { email, password };
}
