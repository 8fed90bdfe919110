import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import sdk from "@tago-io/sdk";
import pg from "pg";
import { pino } from "pino";
import { startSluice } from "../helpers/sluice.js";
import { api, cookieOf, createUser, signIn } from "../helpers/users.js";

// Passwords (issue 12) are never stored or logged in clear: not by a sign-in, a failed one, a
// new user, a password change or a setup link, at the most verbose log level; and session
// tokens are stored as hashes only. The database file and its WAL are searched byte by byte
// (on PostgreSQL: every row of every table, as text).

const { Account } = sdk;

test("no password, and no session token, in the logs or the database files", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  const passwords = ["Pw-first-7c1e94ad0b", "Pw-second-5fa2d1c93e", "Pw-wrong-a81b7f02c4", "Pw-setup-0d9e3c6b17", "Pw-sdk-token-2b4f8e"];
  const [first, second, wrong, setup] = passwords as [string, string, string, string, string];
  const sluice = await startSluice({ login: { failureDelayMs: 1, failureDelayMaxMs: 1 } }, undefined, { logger });
  const sessionTokens: string[] = [];
  try {
    await createUser(sluice, { email: "secret@example.com", password: first });
    const cookie = await signIn(sluice, "secret@example.com", first);
    sessionTokens.push(cookie.split("=")[1]!);
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "secret@example.com", password: wrong } })).status, 401);
    await delay(5);
    assert.equal((await api(sluice, "POST", "/account/login", { body: { email: "nobody@example.com", password: wrong } })).status, 401);
    await delay(5);
    const changed = await api(sluice, "POST", "/account/passwordreset", { cookie, body: { password: second, current_password: first } });
    assert.equal(changed.status, 200);
    await delay(5);
    assert.equal((await api(sluice, "POST", "/account/passwordreset", { cookie, body: { password: first, current_password: wrong } })).status, 403);
    await Account.tokenCreate({ profile_id: "current", email: "secret@example.com", password: second, name: "t" } as never, { api: sluice.api, sse: sluice.api });

    const link = readFileSync(join(sluice.dataDir, "setup-link"), "utf8").trim();
    const done = await api(sluice, "POST", "/account/setup", { body: { token: link.split("/").pop(), password: setup } });
    assert.equal(done.status, 200);
    sessionTokens.push(cookieOf(done.setCookie).split("=")[1]!);
    // Requests with the cookie, logged at trace level.
    assert.equal((await api(sluice, "GET", "/device", { cookie })).status, 200);
  } finally {
    await sluice.close({ keepData: true });
  }
  const logged = lines.join("");
  assert.ok(logged.includes("http request"), "requests were logged (at debug)");
  for (const secret of [...passwords, ...sessionTokens]) assert.ok(!logged.includes(secret), `${secret.slice(0, 12)}… is in the logs`);

  const storeUrl = sluice.server.config.postgres.url;
  if (storeUrl !== "") {
    // On PostgreSQL (SLUICE_TEST_STORE=postgres): every row of every table, as text.
    const db = new pg.Client({ connectionString: storeUrl });
    await db.connect();
    try {
      const tables = (await db.query<{ name: string }>("SELECT format('%I', tablename) AS name FROM pg_tables WHERE schemaname = 'public'")).rows;
      assert.ok(tables.length > 10);
      for (const { name } of tables) {
        const text = (await db.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`)).rows.map((r) => r.row).join("\n");
        for (const secret of [...passwords, ...sessionTokens]) assert.ok(!text.includes(secret), `${secret.slice(0, 12)}… is in table ${name}`);
      }
    } finally {
      await db.end();
    }
  } else {
    const files = readdirSync(sluice.dataDir).filter((f) => f.startsWith("sluice.db")).map((f) => join(sluice.dataDir, f));
    assert.ok(files.some((f) => f.endsWith("sluice.db")) && files.every((f) => existsSync(f)));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of [...passwords, ...sessionTokens]) {
        for (const encoding of ["utf8", "utf16le"] as const) {
          assert.equal(bytes.indexOf(Buffer.from(secret, encoding)), -1, `${secret.slice(0, 12)}… (${encoding}) is in ${file}`);
        }
      }
    }
  }
  const { rmSync } = await import("node:fs");
  rmSync(sluice.dataDir, { recursive: true, force: true });
});
