import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { resourcesOf } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { api, createUser, signIn } from "../helpers/users.js";

// The users API (issue 12): account-scoped, with a token or a session; an account keeps at
// least one user; emails are unique across accounts, without case; analysis tokens are refused.

const PASSWORD = "password of eight+";

let sluice: TestSluice;
before(async () => {
  sluice = await startSluice({ users: { maxPerAccount: 6 }, login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
});
after(() => sluice.close());

describe("users of an account", () => {
  test("add, list, remove; the admin's first user is there from the first start", async () => {
    const listed = await api(sluice, "GET", "/account/user", { token: sluice.adminToken });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.result.map((u: { email: string }) => u.email), ["admin@localhost"]);

    const added = await api(sluice, "POST", "/account/user", { token: sluice.adminToken, body: { email: "Grace@Example.com", name: "Grace", password: PASSWORD } });
    assert.equal(added.status, 200, added.body.message);
    const grace = added.body.result as Record<string, unknown>;
    assert.deepEqual(Object.keys(grace).sort(), ["created_at", "email", "id", "last_login", "name"]);
    assert.equal(grace.email, "grace@example.com");
    assert.equal(grace.last_login, null);
    assert.ok(!JSON.stringify(added.body).includes(PASSWORD));

    await signIn(sluice, "grace@example.com", PASSWORD);
    const after = await api(sluice, "GET", "/account/user", { token: sluice.adminToken });
    const row = after.body.result.find((u: { id: string }) => u.id === grace.id);
    assert.ok(row.last_login, "last_login recorded");
    assert.ok(!JSON.stringify(after.body).includes("scrypt"), "no hash in lists");

    assert.equal((await api(sluice, "DELETE", `/account/user/${grace.id}`, { token: sluice.adminToken })).status, 200);
    assert.equal((await api(sluice, "DELETE", `/account/user/${grace.id}`, { token: sluice.adminToken })).status, 404);
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "grace@example.com", password: PASSWORD } })).status, 401);
  });

  test("the last user cannot be removed (409); with another one it can, signed in as that one", async () => {
    const other = await sluice.server.identity.createAccount("solo");
    const first = await createUser(sluice, { email: "first@solo.example", password: PASSWORD }, other.token);
    const refused = await api(sluice, "DELETE", `/account/user/${first.id}`, { token: other.token });
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /last user/);

    const second = await createUser(sluice, { email: "second@solo.example", password: PASSWORD }, other.token);
    const cookie = await signIn(sluice, "second@solo.example", PASSWORD);
    assert.equal((await api(sluice, "DELETE", `/account/user/${first.id}`, { cookie })).status, 200);
    // Now second is the last one, even to itself.
    assert.equal((await api(sluice, "DELETE", `/account/user/${second.id}`, { cookie })).status, 409);
    // Another account's user is not found.
    assert.equal((await api(sluice, "DELETE", `/account/user/${second.id}`, { token: sluice.adminToken })).status, 404);
    const who = await api(sluice, "GET", "/account/session", { cookie });
    assert.equal(who.body.result.account.id, other.accountId, "a user signs in to its own account");
  });

  test("one user per email across accounts, without case: 409", async () => {
    await createUser(sluice, { email: "taken@example.com", password: PASSWORD });
    const other = await sluice.server.identity.createAccount("elsewhere");
    for (const [email, token] of [["TAKEN@example.com", sluice.adminToken], ["taken@EXAMPLE.com", other.token]] as const) {
      const answer = await api(sluice, "POST", "/account/user", { token, body: { email, name: "dup", password: PASSWORD } });
      assert.equal(answer.status, 409, email);
    }
  });

  test("the password policy and the body are checked: 400", async () => {
    const bad = [
      { email: "p1@example.com", name: "x", password: "short" },
      { email: "p2@example.com", name: "x", password: "1234567" },
      { email: "not an email", name: "x", password: PASSWORD },
      { email: "p3@example.com", name: "", password: PASSWORD },
      { email: "p4@example.com", name: "x" },
      { email: "p5@example.com", name: "x", password: "x".repeat(1025) },
    ];
    for (const body of bad) {
      const answer = await api(sluice, "POST", "/account/user", { token: sluice.adminToken, body });
      assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(answer.body.status, false);
    }
    const policy = await api(sluice, "POST", "/account/user", { token: sluice.adminToken, body: bad[0] });
    assert.match(policy.body.message, /at least 8 characters/);
  });

  test("users per account are bounded (users.maxPerAccount): 403", async () => {
    const other = await sluice.server.identity.createAccount("crowded");
    for (let i = 0; i < 6; i++) await createUser(sluice, { email: `crowd${i}@example.com`, password: PASSWORD }, other.token);
    const answer = await api(sluice, "POST", "/account/user", { token: other.token, body: { email: "crowd6@example.com", name: "x", password: PASSWORD } });
    assert.equal(answer.status, 403);
    assert.match(answer.body.message, /users\.maxPerAccount/);
  });

  test("a signed-in user manages users like a token does (CSRF header required)", async () => {
    await createUser(sluice, { email: "manager@example.com", password: PASSWORD });
    const cookie = await signIn(sluice, "manager@example.com", PASSWORD);
    assert.equal((await api(sluice, "POST", "/account/user", { cookie, csrf: false, body: { email: "m2@example.com", name: "x", password: PASSWORD } })).status, 403);
    const made = await api(sluice, "POST", "/account/user", { cookie, body: { email: "m2@example.com", name: "x", password: PASSWORD } });
    assert.equal(made.status, 200, made.body.message);
    assert.equal((await api(sluice, "GET", "/account/user", { cookie })).status, 200);
  });

  test("an analysis token may not manage users (403)", async () => {
    const analysis = await resourcesOf(sluice).analysis.create({ name: "nosy", run_on: "external" } as never);
    const target = await createUser(sluice, { email: "target@example.com", password: PASSWORD });
    for (const [method, path, body] of [
      ["GET", "/account/user", undefined],
      ["POST", "/account/user", { email: "evil@example.com", name: "x", password: PASSWORD }],
      ["DELETE", `/account/user/${target.id}`, undefined],
      ["POST", "/account/passwordreset", { password: PASSWORD, current_password: PASSWORD }],
    ] as const) {
      const answer = await api(sluice, method, path, { token: analysis.token, body });
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.match(answer.body.message, /analysis token/);
    }
    const who = await api(sluice, "GET", "/account/session", { token: analysis.token });
    assert.equal(who.body.result.via, "analysis_token");
  });
});
