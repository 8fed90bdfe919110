import type { ConsolePage } from "../helpers/browser.js";
import type { TestSluice } from "../helpers/sluice.js";

/**
 * Until users and sessions land (branch `users`): the browser's API requests carry the admin
 * account token, and `/account/session` answers as a signed-in admin would. Replaced by the
 * shared `signIn` helper once it exists.
 */
export async function signInAs(view: ConsolePage, sluice: TestSluice): Promise<void> {
  const origin = new URL(sluice.api).origin;
  await view.context.route(`${origin}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === "/account/session") {
      await route.fulfill({ contentType: "application/json", body: JSON.stringify({ status: true, result: { user: { id: "u", email: "admin@example.com", name: "Admin" }, account: { id: "a", name: "admin" } } }) });
      return;
    }
    await route.continue({ headers: { ...route.request().headers(), token: sluice.adminToken } });
  });
  await view.page.goto(`${sluice.api}/#/devices`);
  await view.page.reload(); // the session was checked (signed out) when the page first opened
  await view.page.getByRole("heading", { name: "Devices" }).waitFor();
}
