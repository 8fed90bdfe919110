import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { api, createUser, signIn } from "../helpers/users.js";

// Review 12: the TagoIO GET routes that change something (regenerating an analysis token,
// replacing a dashboard's public link) need X-Sluice-Csrf when signed in by cookie, since a
// same-site page's <img src> sends the SameSite=Strict cookie. Tokens still need no header.

const PASSWORD = "a long enough password";

describe("state-changing GETs under a cookie", () => {
  let sluice: TestSluice;
  let cookie: string;
  before(async () => {
    sluice = await startSluice({ login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
    await createUser(sluice, { email: "csrfget@example.com", password: PASSWORD });
    cookie = await signIn(sluice, "csrfget@example.com", PASSWORD);
  });
  after(() => sluice.close());

  test("GET /analysis/:id/token: 403 CSRF without the header, token unchanged; works with it or a token", async () => {
    const created = await api(sluice, "POST", "/analysis", { cookie, body: { name: "a" } });
    assert.equal(created.status, 200, created.body.message);
    const id = created.body.result.id as string;
    const first = await api(sluice, "GET", `/analysis/${id}/token`, { cookie });
    assert.equal(first.status, 200, first.body.message);
    const forged = await api(sluice, "GET", `/analysis/${id}/token`, { cookie, csrf: false });
    assert.equal(forged.status, 403);
    const info = await api(sluice, "GET", `/analysis/${id}`, { cookie, csrf: false });
    assert.equal(info.body.result.token, first.body.result.analysis_token, "the forged GET did not regenerate the token");
    assert.equal((await api(sluice, "GET", `/analysis/${id}/token`, { token: sluice.adminToken })).status, 200);
  });

  test("GET /dashboard/:id/share/public: 403 CSRF without the header; works with it or a token", async () => {
    const created = await api(sluice, "POST", "/dashboard", { cookie, body: { label: "d" } });
    assert.equal(created.status, 200, created.body.message);
    const id = created.body.result.dashboard as string;
    assert.equal((await api(sluice, "GET", `/dashboard/${id}/share/public`, { cookie, csrf: false })).status, 403);
    assert.equal((await api(sluice, "GET", `/dashboard/${id}`, { cookie, csrf: false })).status, 200, "plain reads need no header");
    assert.equal((await api(sluice, "GET", `/dashboard/${id}/share/public`, { cookie })).status, 200);
    assert.equal((await api(sluice, "GET", `/dashboard/${id}/share/public`, { token: sluice.adminToken })).status, 200);
  });
});
