import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import { startSluice } from "../helpers/sluice.js";
import { api, cookieOf } from "../helpers/users.js";

// First start (issue 12): the admin account's first user, whose password Sluice never chooses:
// a one-time setup link, written to <data dir>/setup-link (0600) and logged once.

const PASSWORD = "the admin's own password";

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, text: () => lines.join("") };
}

const tokenOf = (link: string) => /#\/setup\/([A-Za-z0-9_-]{43})$/.exec(link.trim())![1]!;

describe("the admin's setup link", () => {
  test("first start: the user, the file, the log line; the link sets the password once and signs in", async () => {
    const log = capture();
    const sluice = await startSluice({ users: { adminEmail: "Root@Example.org" }, login: { failureDelayMs: 100, failureDelayMaxMs: 200 } }, undefined, { logger: log.logger });
    try {
      const file = join(sluice.dataDir, "setup-link");
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const link = readFileSync(file, "utf8").trim();
      assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${sluice.ports.http}/#/setup/[A-Za-z0-9_-]{43}$`));
      assert.equal(log.text().split(link).length - 1, 1, "the link is logged once");

      const users = await api(sluice, "GET", "/account/user", { token: sluice.adminToken });
      assert.deepEqual(users.body.result.map((u: { email: string }) => u.email), ["root@example.org"]);
      // No password yet: nothing signs in.
      assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "root@example.org", password: "" } })).status, 400);
      assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "root@example.org", password: "anything at all" } })).status, 401);

      const token = tokenOf(link);
      assert.equal((await api(sluice, "POST", "/account/setup", { body: { token, password: "short" } })).status, 400);
      await delay(250); // the failed sign-in above made this address wait
      const wrong = await api(sluice, "POST", "/account/setup", { body: { token: "A".repeat(43), password: PASSWORD } });
      assert.equal(wrong.status, 401);
      await delay(250);

      const done = await api(sluice, "POST", "/account/setup", { body: { token, password: PASSWORD } });
      assert.equal(done.status, 200, done.body.message);
      assert.equal(done.body.result.type, "user");
      assert.equal(done.body.result.email, "root@example.org");
      const cookie = cookieOf(done.setCookie);
      assert.equal((await api(sluice, "GET", "/account/session", { cookie })).body.result.user.email, "root@example.org");
      assert.ok(!existsSync(file), "the file goes once the link is used");

      const again = await api(sluice, "POST", "/account/setup", { body: { token, password: "another password" } });
      assert.equal(again.status, 401, "a setup link works once");
      await delay(250);
      assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "ROOT@example.org", password: PASSWORD } })).status, 200);
    } finally {
      await sluice.close();
    }
  });

  test("an unused link persists across restarts (the file's path is logged, not the link); once used, later starts make none", async () => {
    const first = await startSluice();
    const file = join(first.dataDir, "setup-link");
    const link = readFileSync(file, "utf8");
    await first.close({ keepData: true });

    const log = capture();
    const second = await startSluice({}, first.dataDir, { logger: log.logger });
    assert.equal(readFileSync(file, "utf8"), link, "the same link");
    assert.ok(log.text().includes(file), "the file is named");
    assert.ok(!log.text().includes(tokenOf(link)), "the link is not logged again");
    assert.equal((await api(second, "POST", "/account/setup", { body: { token: tokenOf(link), password: PASSWORD } })).status, 200);
    await second.close({ keepData: true });

    const third = await startSluice({}, first.dataDir);
    try {
      assert.ok(!existsSync(file));
      assert.equal((await api(third, "GET", "/account/user", { token: third.adminToken })).body.result.length, 1, "no second admin user");
    } finally {
      await third.close();
    }
  });

  test("an expired link is refused; the next start writes a new one", async () => {
    const first = await startSluice({ users: { setupLinkSeconds: 1 } });
    const file = join(first.dataDir, "setup-link");
    const link = readFileSync(file, "utf8");
    await delay(1200);
    assert.equal((await api(first, "POST", "/account/setup", { body: { token: tokenOf(link), password: PASSWORD } })).status, 401);
    await first.close({ keepData: true });

    const second = await startSluice({}, first.dataDir);
    try {
      const renewed = readFileSync(file, "utf8");
      assert.notEqual(renewed, link);
      assert.equal((await api(second, "POST", "/account/setup", { body: { token: tokenOf(renewed), password: PASSWORD } })).status, 200);
    } finally {
      await second.close();
    }
  });
});
