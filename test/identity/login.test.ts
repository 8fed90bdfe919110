import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import sdk from "@tago-io/sdk";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { api, cookieOf, createUser, httpsCall, signIn } from "../helpers/users.js";

// Signing in (issue 12): the SDK's Account.login against Sluice, the session cookie and what
// it may do, the same 401 for a wrong email and a wrong password, and the throttle.

const { Account } = sdk;
const PASSWORD = "correct horse battery";

let sluice: TestSluice;
let accountId: string;
const region = () => ({ api: sluice.api, sse: `${sluice.api}/events` });

before(async () => {
  sluice = await startSluice({ login: { failureDelayMs: 400, failureDelayMaxMs: 1600 } });
  accountId = (await sluice.server.identity.authenticateAccount(sluice.adminToken))!;
  await createUser(sluice, { email: "Ada@Example.com", name: "Ada", password: PASSWORD });
});
after(() => sluice.close());

describe("POST /account/login", () => {
  test("the SDK's Account.login signs in and gets TagoIO's LoginResponse", async () => {
    const answer = await Account.login({ email: "ada@example.com", password: PASSWORD } as never, region());
    assert.equal(answer.type, "user");
    assert.equal(answer.email, "ada@example.com");
    assert.equal(answer.name, "Ada");
    assert.equal(typeof answer.id, "string");
    assert.equal(answer.company, "admin");
    assert.deepEqual(answer.profiles, [{ id: accountId, account: accountId, name: "admin", logo_url: null }]);
  });

  test("the email is compared without case", async () => {
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "  ADA@example.COM ", password: PASSWORD } })).status, 200);
  });

  test("a wrong password and an unknown email get the same 401; then the throttle refuses (429) until the wait is over", async () => {
    await assert.rejects(Account.login({ email: "ada@example.com", password: "nope nope" } as never, region()), (err) => err === "Wrong email or password");
    await delay(500);
    const wrong = await api(sluice, "POST", "/account/login", { body: { email: "ada@example.com", password: "not the password" } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.message, "Wrong email or password");
    assert.equal(wrong.setCookie, undefined);

    // Too soon, the right password included: refused without being checked.
    const soon = await api(sluice, "POST", "/account/login", { body: { email: "ada@example.com", password: PASSWORD } });
    assert.equal(soon.status, 429);
    assert.match(soon.body.message, /Retry-After/);
    assert.ok(Number(soon.headers.get("retry-after")) >= 1);

    await delay(1700);
    const unknown = await api(sluice, "POST", "/account/login", { body: { email: "nobody@example.com", password: "not the password" } });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, wrong.body, "the same answer: no user enumeration");
    await delay(1700);
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "ada@example.com", password: PASSWORD } })).status, 200);
  });

  test("the body is checked: no email or password is a 400", async () => {
    for (const body of [{}, { email: "ada@example.com" }, { password: PASSWORD }, { email: 1, password: {} }]) {
      const answer = await api(sluice, "POST", "/account/login", { body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.status, false);
    }
  });
});

describe("a wrong email costs what a wrong password does", () => {
  test("both take a password hash", async () => {
    const s = await startSluice({ login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
    try {
      await createUser(s, { email: "t@example.com", password: PASSWORD });
      const time = async (email: string) => {
        await delay(5);
        const start = performance.now();
        assert.equal((await api(s, "POST", "/account/login", { body: { email, password: "wrong password" } })).status, 401);
        return performance.now() - start;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 4; i++) {
        known.push(await time("t@example.com"));
        unknown.push(await time(`nobody${i}@example.com`));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      // A hash takes tens of milliseconds; a lookup alone would be under one.
      assert.ok(median(unknown) > 0.5 * median(known), `unknown ${median(unknown)} ms vs known ${median(known)} ms`);
      assert.ok(median(unknown) > 10, `unknown email answered in ${median(unknown)} ms: no hash?`);
    } finally {
      await s.close();
    }
  });
});

describe("guesses sent in parallel", () => {
  test("one is checked at a time per email: the others are refused (429) unchecked", async () => {
    const s = await startSluice({ login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
    try {
      await createUser(s, { email: "p@example.com", password: PASSWORD });
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => api(s, "POST", "/account/login", { body: { email: "p@example.com", password: i === 5 ? PASSWORD : `guess number ${i}` } })));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((x) => x === 429).length, 5, JSON.stringify(statuses));
      await delay(20);
      assert.equal((await api(s, "POST", "/account/login", { body: { email: "p@example.com", password: PASSWORD } })).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe("the session cookie", () => {
  test("HttpOnly, SameSite=Strict, Path=/, Max-Age = the session lifetime, not Secure over HTTP", async () => {
    const answer = await api(sluice, "POST", "/account/login", { body: { email: "ada@example.com", password: PASSWORD } });
    const cookie = answer.setCookie!;
    assert.match(cookie, /^sluice_session=[A-Za-z0-9_-]{43}; /);
    const attributes = cookie.split(";").slice(1).map((a) => a.trim());
    assert.ok(attributes.includes("HttpOnly"), cookie);
    assert.ok(attributes.includes("SameSite=Strict"), cookie);
    assert.ok(attributes.includes("Path=/"), cookie);
    assert.ok(attributes.includes(`Max-Age=${30 * 24 * 3600}`), cookie);
    assert.ok(!attributes.includes("Secure"), cookie);
    assert.equal(answer.headers.get("cache-control"), "no-store");
  });

  test("Secure when signed in over HTTPS", async () => {
    const answer = await httpsCall(sluice.ports.https, "POST", "/account/login", { email: "ada@example.com", password: PASSWORD });
    assert.equal(answer.status, 200);
    const cookie = String(answer.headers["set-cookie"]);
    assert.match(cookie, /; Secure\b/);
    assert.match(cookie, /HttpOnly/);
    // And it works over HTTPS.
    const devices = await httpsCall(sluice.ports.https, "GET", "/device", undefined, { cookie: cookieOf(cookie) });
    assert.equal(devices.status, 200);
  });

  test("authenticates GET /device; a POST without X-Sluice-Csrf is 403, with it succeeds", async () => {
    const cookie = await signIn(sluice, "ada@example.com", PASSWORD);
    const list = await api(sluice, "GET", "/device", { cookie });
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body.result));

    const refused = await api(sluice, "POST", "/device", { cookie, csrf: false, body: { name: "from the console" } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.status, false);
    assert.match(refused.body.message, /X-Sluice-Csrf/);
    const wrongValue = await fetch(`${sluice.api}/device`, { method: "POST", headers: { cookie, "x-sluice-csrf": "yes", "content-type": "application/json" }, body: "{\"name\":\"x\"}" });
    assert.equal(wrongValue.status, 403);

    const created = await api(sluice, "POST", "/device", { cookie, body: { name: "from the console" } });
    assert.equal(created.status, 200, created.body.message);
    assert.equal((await api(sluice, "DELETE", `/device/${created.body.result.device_id}`, { cookie, csrf: false })).status, 403);
    assert.equal((await api(sluice, "DELETE", `/device/${created.body.result.device_id}`, { cookie })).status, 200);
  });

  test("a token sent with the cookie wins, even a wrong one; a token needs no CSRF header", async () => {
    const cookie = await signIn(sluice, "ada@example.com", PASSWORD);
    assert.equal((await api(sluice, "GET", "/device", { cookie, token: "00000000-0000-4000-8000-000000000000" })).status, 401);
    const created = await api(sluice, "POST", "/device", { token: sluice.adminToken, body: { name: "by token" } });
    assert.equal(created.status, 200);
  });

  test("an unknown or malformed cookie is a 401", async () => {
    for (const cookie of ["sluice_session=x", `sluice_session=${"A".repeat(43)}`, "sluice_session=", "other=1"]) {
      assert.equal((await api(sluice, "GET", "/device", { cookie })).status, 401, cookie);
    }
  });

  test("GET /account/session says who is signed in, or 401", async () => {
    const cookie = await signIn(sluice, "ada@example.com", PASSWORD);
    const who = await api(sluice, "GET", "/account/session", { cookie });
    assert.equal(who.status, 200);
    assert.equal(who.body.result.user.email, "ada@example.com");
    assert.equal(who.body.result.account.id, accountId);
    assert.equal(who.body.result.via, "session");
    assert.ok(who.body.result.user.last_login);
    assert.equal((await api(sluice, "GET", "/account/session")).status, 401);
    const byToken = await api(sluice, "GET", "/account/session", { token: sluice.adminToken });
    assert.equal(byToken.body.result.user, null);
    assert.equal(byToken.body.result.via, "token");
  });

  test("POST /account/logout needs the CSRF header, ends the session and clears the cookie", async () => {
    const cookie = await signIn(sluice, "ada@example.com", PASSWORD);
    assert.equal((await api(sluice, "POST", "/account/logout", { cookie, csrf: false })).status, 403);
    assert.equal((await api(sluice, "GET", "/device", { cookie })).status, 200, "still signed in");
    const out = await api(sluice, "POST", "/account/logout", { cookie });
    assert.equal(out.status, 200);
    assert.match(out.setCookie!, /^sluice_session=; .*Max-Age=0/);
    assert.equal((await api(sluice, "GET", "/device", { cookie })).status, 401);
    assert.equal((await api(sluice, "POST", "/account/logout")).status, 200, "signing out twice is fine");
  });
});

describe("POST /account/profile/token", () => {
  test("the SDK's Account.tokenCreate makes an account token with the user's email and password", async () => {
    const created = await Account.tokenCreate({ profile_id: accountId, email: "ada@example.com", password: PASSWORD, name: "from sdk", expire_time: "1 day" } as never, region());
    assert.match(created.token, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const info = await api(sluice, "GET", "/account", { token: created.token });
    assert.equal(info.status, 200);
    assert.equal(info.body.result.id, accountId);
    const listed = await api(sluice, "GET", "/profile/current/token?fields=name&fields=expire_time", { token: sluice.adminToken });
    const row = (listed.body.result as { name: string; expire_time: string }[]).find((t) => t.name === "from sdk");
    assert.ok(row && row.expire_time !== "never", "listed, with its expiry");
  });

  test("a wrong password is the same 401; another profile id is 404", async () => {
    await delay(1700); // past the throttle of earlier failures
    const wrong = await api(sluice, "POST", "/account/profile/token", { body: { profile_id: accountId, email: "ada@example.com", password: "wrong password", name: "x" } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.message, "Wrong email or password");
    await delay(1700);
    const other = await api(sluice, "POST", "/account/profile/token", { body: { profile_id: "0123456789abcdef01234567", email: "ada@example.com", password: PASSWORD, name: "x" } });
    assert.equal(other.status, 404);
  });
});
