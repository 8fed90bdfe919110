import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { openStream } from "../helpers/sse_client.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { api, createUser, signIn } from "../helpers/users.js";

// Sessions (issue 12): kept in SQLite across restarts, ended by sign-out, idle time, age,
// a password change (the user's other sessions), the user's deletion; and a stream opened
// with a session ends with it, like one opened with a revoked token.

const PASSWORD = "a long enough password";

describe("sessions and streams", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
  });
  after(() => sluice.close());

  test("the cookie opens /events and the inspector stream (GET: no CSRF header); ?token= still works", async () => {
    await createUser(sluice, { email: "streams@example.com", password: PASSWORD });
    const cookie = await signIn(sluice, "streams@example.com", PASSWORD);
    const { deviceId } = await sluice.device();
    const events = await openStream(`${sluice.api}/events?channels=notification`, { cookie });
    const inspector = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { cookie });
    const byQuery = await openStream(`${sluice.api}/events?channels=notification&token=${sluice.adminToken}`);
    assert.equal(events.status, 200);
    assert.equal(inspector.status, 200);
    assert.equal(byQuery.status, 200);
    assert.equal((await api(sluice, "GET", "/events?channels=notification")).status, 401, "no token, no cookie");
    assert.equal((await api(sluice, "GET", "/events?channels=notification", { cookie: "sluice_session=nope" })).status, 401);

    // A notification made with the cookie reaches the cookie's stream.
    const sent = await api(sluice, "POST", "/notification", { cookie, body: { title: "hello", message: "from a test" } });
    assert.equal(sent.status, 200, sent.body.message);
    const event = JSON.parse((await events.next(2000)).data) as { channel: string; payload: { title: string } };
    assert.equal(event.channel, "notification");
    assert.equal(event.payload.title, "hello");

    // Signing out ends both streams, not the token's.
    assert.equal((await api(sluice, "POST", "/account/logout", { cookie })).status, 200);
    await events.ended(1500);
    await inspector.ended(1500);
    await assert.rejects(byQuery.ended(300), /still open/);
    byQuery.close();
  });

  test("a password change ends the user's other sessions and their streams, keeps the one that changed it", async () => {
    await createUser(sluice, { email: "change@example.com", password: PASSWORD });
    const mine = await signIn(sluice, "change@example.com", PASSWORD);
    const other = await signIn(sluice, "change@example.com", PASSWORD);
    const stream = await openStream(`${sluice.api}/events?channels=notification`, { cookie: other });
    assert.equal(stream.status, 200);

    const wrong = await api(sluice, "POST", "/account/passwordreset", { cookie: mine, body: { password: "new password 123", current_password: "not it at all" } });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.status, false);
    await delay(10);
    const missing = await api(sluice, "POST", "/account/passwordreset", { cookie: mine, body: { password: "new password 123" } });
    assert.equal(missing.status, 400);
    const short = await api(sluice, "POST", "/account/passwordreset", { cookie: mine, body: { password: "short", current_password: PASSWORD } });
    assert.equal(short.status, 400);
    assert.match(short.body.message, /at least 8/);
    assert.equal((await api(sluice, "GET", "/device", { cookie: other })).status, 200, "nothing ended yet");

    const changed = await api(sluice, "POST", "/account/passwordreset", { cookie: mine, body: { password: "new password 123", current_password: PASSWORD } });
    assert.equal(changed.status, 200, changed.body.message);
    await stream.ended(1500);
    assert.equal((await api(sluice, "GET", "/device", { cookie: other })).status, 401);
    assert.equal((await api(sluice, "GET", "/device", { cookie: mine })).status, 200);
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "change@example.com", password: PASSWORD } })).status, 401);
    await delay(10);
    await signIn(sluice, "change@example.com", "new password 123");
  });

  test("a token cannot change a password (it has no user), and needs no CSRF header to be refused", async () => {
    const answer = await api(sluice, "POST", "/account/passwordreset", { token: sluice.adminToken, body: { password: "new password 123", current_password: PASSWORD } });
    assert.equal(answer.status, 403);
    assert.match(answer.body.message, /sign in as the user/);
  });

  test("deleting a user ends its sessions and their streams", async () => {
    const user = await createUser(sluice, { email: "gone@example.com", password: PASSWORD });
    const cookie = await signIn(sluice, "gone@example.com", PASSWORD);
    const { deviceId } = await sluice.device();
    const stream = await openStream(`${sluice.api}/device/${deviceId}/inspector/stream?backlog=0`, { cookie });
    assert.equal(stream.status, 200);
    assert.equal((await api(sluice, "DELETE", `/account/user/${user.id}`, { token: sluice.adminToken })).status, 200);
    await stream.ended(1500);
    assert.equal((await api(sluice, "GET", "/device", { cookie })).status, 401);
  });

  test("a user's sessions are bounded: the oldest ends past sessions.maxPerUser", async () => {
    const s = await startSluice({ sessions: { maxPerUser: 2 }, login: { failureDelayMs: 1, failureDelayMaxMs: 1 } });
    try {
      await createUser(s, { email: "many@example.com", password: PASSWORD });
      const first = await signIn(s, "many@example.com", PASSWORD);
      const second = await signIn(s, "many@example.com", PASSWORD);
      const third = await signIn(s, "many@example.com", PASSWORD);
      assert.equal((await api(s, "GET", "/device", { cookie: first })).status, 401);
      assert.equal((await api(s, "GET", "/device", { cookie: second })).status, 200);
      assert.equal((await api(s, "GET", "/device", { cookie: third })).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe("sessions survive a restart", () => {
  test("stop, start on the same data dir: the cookie still works; signing out then ends it", async () => {
    const first = await startSluice();
    await createUser(first, { email: "restart@example.com", password: PASSWORD });
    const cookie = await signIn(first, "restart@example.com", PASSWORD);
    await first.close({ keepData: true });

    const second = await startSluice({}, first.dataDir);
    try {
      const who = await api(second, "GET", "/account/session", { cookie });
      assert.equal(who.status, 200);
      assert.equal(who.body.result.user.email, "restart@example.com");
      assert.equal((await api(second, "POST", "/account/logout", { cookie })).status, 200);
      assert.equal((await api(second, "GET", "/account/session", { cookie })).status, 401);
    } finally {
      await second.close();
    }
  });
});

describe("expiry", () => {
  test("a session unused for sessions.idleSeconds ends, and its stream with it", async () => {
    const s = await startSluice({ sessions: { idleSeconds: 1 } });
    try {
      await createUser(s, { email: "idle@example.com", password: PASSWORD });
      const cookie = await signIn(s, "idle@example.com", PASSWORD);
      // Used within the idle time, it lives on.
      for (let i = 0; i < 3; i++) {
        await delay(500);
        assert.equal((await api(s, "GET", "/device", { cookie })).status, 200, `use ${i}`);
      }
      const stream = await openStream(`${s.api}/events?channels=notification`, { cookie });
      assert.equal(stream.status, 200);
      await stream.ended(2500);
      assert.equal((await api(s, "GET", "/device", { cookie })).status, 401);
    } finally {
      await s.close();
    }
  });

  test("a session ends sessions.maxAgeSeconds after its sign-in, however much it is used", async () => {
    const s = await startSluice({ sessions: { maxAgeSeconds: 2 } });
    try {
      await createUser(s, { email: "age@example.com", password: PASSWORD });
      const answer = await api(s, "POST", "/account/login", { body: { email: "age@example.com", password: PASSWORD } });
      assert.match(answer.setCookie!, /Max-Age=2\b/);
      const cookie = /^(sluice_session=[^;]*)/.exec(answer.setCookie!)![1]!;
      const started = Date.now();
      while (Date.now() - started < 1500) {
        assert.equal((await api(s, "GET", "/device", { cookie })).status, 200);
        await delay(250);
      }
      await delay(2100 - (Date.now() - started));
      assert.equal((await api(s, "GET", "/device", { cookie })).status, 401);
    } finally {
      await s.close();
    }
  });
});
