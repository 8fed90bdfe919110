import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { redactUrl } from "../../src/http/redact.js";
import { call, resourcesOf } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// Account tokens in TagoIO's shapes (`Resources.profiles.tokenList/tokenCreate/tokenDelete`):
// the profile id is the account id (or `current`); lists mask tokens; revocation is immediate.

let sluice: TestSluice;
let accountId: string;
before(async () => {
  sluice = await startSluice();
  accountId = (await sluice.server.identity.authenticateAccount(sluice.adminToken))!;
});
after(() => sluice.close());

const sdk = (token = sluice.adminToken) => resourcesOf(sluice, token);

describe("account tokens through the SDK", () => {
  test("the SDK finds the profile id, creates a token (shown once), lists it masked, and deletes it", async () => {
    const [profile] = await sdk().profiles.list();
    assert.equal(profile!.id, accountId);
    const info = await sdk().profiles.info("current");
    assert.equal(info.info.id, accountId);

    const created = await sdk().profiles.tokenCreate(profile!.id, { name: "ci", permission: "full", expire_time: "1 month" } as never);
    assert.match(created.token, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const month = Date.now() + 30 * 86_400_000;
    assert.ok(Math.abs(new Date(created.expire_date as unknown as string).getTime() - month) < 3 * 86_400_000);
    assert.equal((await call(sluice, "GET", "/account", undefined, created.token)).status, 200);

    const list = await sdk().profiles.tokenList(profile!.id, { fields: ["name", "token", "permission", "expire_time", "created_at", "last_authorization"] } as never);
    const item = list.find((t) => t.name === "ci") as Record<string, unknown>;
    assert.ok(item, "the new token is listed");
    assert.equal(item.token, `${created.token.slice(0, 8)}-****`);
    assert.ok(!JSON.stringify(list).includes(created.token), "no list shows a full token");
    assert.equal(item.permission, "full");
    assert.ok(item.last_authorization instanceof Date, "last_authorization is recorded");
    assert.equal(typeof item.id, "string");

    assert.equal(await sdk().profiles.tokenDelete(profile!.id, created.token), "Token Successfully Removed");
    assert.equal((await call(sluice, "GET", "/account", undefined, created.token)).status, 401);
  });
});

describe("account tokens over HTTP", () => {
  test("revokes by id; another account's profile id is a 404; another account's token is not found", async () => {
    const created = await call(sluice, "POST", `/profile/${accountId}/token`, { name: "by id" });
    assert.equal(created.status, 200);
    assert.equal((await call(sluice, "DELETE", `/profile/current/token/${created.body.result.id}`)).status, 200);
    assert.equal((await call(sluice, "GET", "/account", undefined, created.body.result.token)).status, 401);

    const other = await sluice.server.identity.createAccount("other");
    assert.equal((await call(sluice, "GET", `/profile/${other.accountId}/token`)).status, 404);
    assert.equal((await call(sluice, "POST", `/profile/${other.accountId}/token`, { name: "x" })).status, 404);
    assert.equal((await call(sluice, "DELETE", `/profile/${accountId}/token/${other.token}`)).status, 404);
    assert.equal((await call(sluice, "GET", "/account", undefined, other.token)).status, 200, "the other account's token still works");
  });

  test("the account's last full token cannot be revoked (409); with a second one it can", async () => {
    const other = await sluice.server.identity.createAccount("solo");
    const refused = await call(sluice, "DELETE", `/profile/${other.accountId}/token/${other.token}`, undefined, other.token);
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /last full token/);
    const second = await call(sluice, "POST", `/profile/current/token`, { name: "second" }, other.token);
    assert.equal((await call(sluice, "DELETE", `/profile/current/token/${other.token}`, undefined, second.body.result.token)).status, 200);
    assert.equal((await call(sluice, "GET", "/account", undefined, other.token)).status, 401);
  });

  test("analysis tokens are listed, marked, cannot be revoked here, and cannot manage tokens", async () => {
    const analysis = await sdk().analysis.create({ name: "listed", run_on: "external" } as never);
    const list = await call(sluice, "GET", `/profile/current/token?amount=100&fields=name&fields=token&fields=ref_id`);
    const row = (list.body.result as Record<string, unknown>[]).find((t) => t.ref_id === analysis.id);
    assert.ok(row, "the analysis token is listed");
    assert.equal(row.type, "analysis");
    assert.equal(row.token, `${analysis.token.slice(0, 8)}-****`);
    const revoke = await call(sluice, "DELETE", `/profile/current/token/${row.id}`);
    assert.equal(revoke.status, 409);
    assert.match(revoke.body.message, /regenerate/);
    assert.equal((await call(sluice, "GET", "/profile/current/token", undefined, analysis.token)).status, 403);
    assert.equal((await call(sluice, "POST", "/profile/current/token", { name: "escape" }, analysis.token)).status, 403);
  });

  test("permission other than full and past or unreadable expire_time are 400s", async () => {
    assert.equal((await call(sluice, "POST", "/profile/current/token", { name: "r", permission: "read" })).status, 400);
    assert.equal((await call(sluice, "POST", "/profile/current/token", { name: "p", expire_time: "2001-01-01T00:00:00Z" })).status, 400);
    assert.equal((await call(sluice, "POST", "/profile/current/token", { name: "u", expire_time: "soonish" })).status, 400);
  });
});

describe("logged URLs", () => {
  test("carry no token: not in ?token=, not in a revocation path", () => {
    const t = "0123abcd-0000-1111-2222-333344445555";
    for (const url of [`/events?channels=notification&token=${t}`, `/profile/current/token/${t}`, `/device/token/${t}?x=1`, `/device/a/inspector/stream?token=${t}&backlog=0`]) {
      const logged = redactUrl(url);
      assert.ok(!logged.includes(t), logged);
      assert.match(logged, /\*\*\*/);
    }
    assert.equal(redactUrl("/events?channels=notification&token=abc&backlog=1"), "/events?channels=notification&token=***&backlog=1");
  });
});
