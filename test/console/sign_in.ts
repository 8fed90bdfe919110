import type { Page } from "playwright-core";
import type { TestSluice } from "../helpers/sluice.js";

/**
 * Signs the console in as the admin account. STOPGAP until users and sessions land in main:
 * every request of the page carries the admin token (the API's header auth) and
 * `/account/session` is answered here. Replaced by helpers/browser.ts's `signIn`.
 */
export async function signInAsAdmin(page: Page, sluice: TestSluice): Promise<void> {
  await page.context().setExtraHTTPHeaders({ token: sluice.adminToken });
  await page.route("**/account/session", (route) =>
    route.fulfill({ json: { status: true, result: { user: { id: "u", email: "admin@localhost", name: "Admin" }, account: { id: "a", name: "Admin" } } } }),
  );
  await page.goto(`${sluice.api}/#/devices`);
  await page.reload();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}
