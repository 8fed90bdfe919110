import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../helpers/http_server.js";

// The `sluice device` and `sluice token` commands, run as a user would (a child process of the
// compiled CLI) against a real server.

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: options.cwd, timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on: bound by the OS, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

let server: TestServer;
let auth: string[];
let scratch: string;

before(async () => {
  server = await startTestServer();
  auth = ["--url", server.url, "--token", server.accountToken];
  scratch = await mkdtemp(join(tmpdir(), "sluice-cli-"));
});
after(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

async function createDevice(name: string): Promise<{ id: string; token: string }> {
  const run = await sluice(["device", "create", "--name", name, "--json", ...auth]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as { id: string; token: string };
}

describe("sluice device", { concurrency: true }, () => {
  test("create --json prints the new device's id and a token that authenticates as it", async () => {
    const { id, token } = await createDevice("cli-json");
    assert.equal((await server.identity.getDevice(server.accountId, id)).name, "cli-json");
    assert.equal((await server.identity.authenticateDevice(token))?.deviceId, id);
  });

  test("create prints the id and token as text, and warns on stderr that the token is shown once", async () => {
    const run = await sluice(["device", "create", "--name", "cli-text", ...auth]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^id\s+[0-9a-f]{24}\ntoken\s+[0-9a-f-]{36}\n$/);
    assert.match(run.stderr, /shown only this once/);
  });

  test("create without --name fails with exit code 1 and a usage message", async () => {
    const run = await sluice(["device", "create", ...auth]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--name/);
    assert.equal(run.stdout, "");
  });

  test("list --json prints every device with id, name, active and created_at", async () => {
    const { id } = await createDevice("listed");
    const run = await sluice(["device", "list", "--json", ...auth]);
    assert.equal(run.code, 0);
    const devices = JSON.parse(run.stdout) as { id: string; name: string; active: boolean; created_at: string }[];
    const mine = devices.find((d) => d.id === id);
    assert.deepEqual(Object.keys(mine!).sort(), ["active", "created_at", "id", "name"]);
    assert.equal(mine!.name, "listed");
    assert.equal(mine!.active, true);
  });

  test("list prints a table with a header row", async () => {
    const { id } = await createDevice("tabled");
    const run = await sluice(["device", "list", ...auth]);
    assert.equal(run.code, 0);
    const [header, ...rows] = run.stdout.trimEnd().split("\n");
    assert.match(header!, /^ID\s+NAME\s+ACTIVE\s+CREATED$/);
    assert.ok(rows.some((row) => new RegExp(`^${id}\\s+tabled\\s+yes\\s+\\d{4}-`).test(row)));
  });

  test("delete removes the device", async () => {
    const { id } = await createDevice("doomed");
    const run = await sluice(["device", "delete", id, ...auth]);
    assert.equal(run.code, 0);
    await assert.rejects(server.identity.getDevice(server.accountId, id), /Device not found/);
  });

  test("delete of an unknown device fails with exit code 1 and the server's message", async () => {
    const run = await sluice(["device", "delete", "000000000000000000000000", ...auth]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Device not found/);
  });

  test("a wrong account token fails with exit code 1 and Authorization denied", async () => {
    const run = await sluice(["device", "list", "--url", server.url, "--token", "00000000-0000-0000-0000-000000000000"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Authorization denied/);
  });

  test("an unknown flag fails instead of being ignored", async () => {
    const run = await sluice(["device", "list", "--nmae", "x", ...auth]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /unknown flag --nmae/);
  });
});

describe("sluice token", { concurrency: true }, () => {
  test("create --json returns a token with the permission, name and expiry asked for", async () => {
    const { id: device } = await createDevice("tokened");
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const run = await sluice(["token", "create", device, "--permission", "read", "--expires", expires, "--name", "ro", "--json", ...auth]);
    assert.equal(run.code, 0, run.stderr);
    const created = JSON.parse(run.stdout) as { id: string; token: string; name: string; permission: string; expire_date: string };
    assert.equal(created.name, "ro");
    assert.equal(created.permission, "read");
    assert.equal(created.expire_date, expires);
    const principal = await server.identity.authenticateDevice(created.token);
    assert.equal(principal?.permission, "read");
    assert.equal(principal?.expiresAt?.toISOString(), expires);
  });

  test("create defaults to a full-permission token that never expires", async () => {
    const { id: device } = await createDevice("defaults");
    const run = await sluice(["token", "create", device, "--json", ...auth]);
    const created = JSON.parse(run.stdout) as { permission: string; expire_date: string };
    assert.equal(created.permission, "full");
    assert.equal(created.expire_date, "never");
  });

  test("create with an invalid permission fails with the server's message", async () => {
    const { id: device } = await createDevice("badperm");
    const run = await sluice(["token", "create", device, "--permission", "admin", ...auth]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /permission/);
  });

  test("list shows masked tokens only", async () => {
    const { id: device, token } = await createDevice("masked");
    const json = await sluice(["token", "list", device, "--json", ...auth]);
    assert.equal(json.code, 0);
    assert.ok(!json.stdout.includes(token));
    const [listed] = JSON.parse(json.stdout) as { id: string; token: string; name: string }[];
    assert.equal(listed!.token, `${token.slice(0, 8)}-****`);
    const table = await sluice(["token", "list", device, ...auth]);
    assert.match(table.stdout, /^ID\s+TOKEN\s+NAME\s+PERMISSION\s+EXPIRES\s+CREATED\s+LAST USED\n/);
    assert.ok(!table.stdout.includes(token));
  });

  test("revoke with the full token stops it from authenticating", async () => {
    const { token } = await createDevice("revoke-full");
    const run = await sluice(["token", "revoke", token, ...auth]);
    assert.equal(run.code, 0);
    assert.equal(await server.identity.authenticateDevice(token), undefined);
  });

  test("revoke with the id from token list stops the token from authenticating", async () => {
    const { id: device, token } = await createDevice("revoke-id");
    const [listed] = JSON.parse((await sluice(["token", "list", device, "--json", ...auth])).stdout) as { id: string }[];
    const run = await sluice(["token", "revoke", listed!.id, ...auth]);
    assert.equal(run.code, 0);
    assert.equal(await server.identity.authenticateDevice(token), undefined);
  });

  test("revoke of an unknown token fails with exit code 1", async () => {
    const run = await sluice(["token", "revoke", "nope", ...auth]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Token not found/);
  });
});

describe("finding the local server", { concurrency: true }, () => {
  const port = () => Number(new URL(server.url).port);

  async function dataDir(name: string, files: { ports?: string; token?: string }): Promise<string> {
    const dir = join(scratch, name);
    await mkdir(dir, { recursive: true });
    if (files.ports !== undefined) await writeFile(join(dir, "ports.json"), files.ports);
    if (files.token !== undefined) await writeFile(join(dir, "admin-token"), files.token);
    return dir;
  }

  test("--data-dir supplies the HTTP port from ports.json and the token from admin-token", async () => {
    const ports = JSON.stringify({ mqtt: 1883, mqtts: 8883, ws: 8083, http: port() });
    const dir = await dataDir("explicit", { ports, token: `${server.accountToken}\n` });
    const run = await sluice(["device", "list", "--json", "--data-dir", dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Array.isArray(JSON.parse(run.stdout)));
  });

  test("without flags the data dir is ./data", async () => {
    const cwd = join(scratch, "cwd");
    await dataDir(join("cwd", "data"), { ports: JSON.stringify({ http: port() }), token: server.accountToken });
    const run = await sluice(["device", "create", "--name", "from-default-dir", "--json"], { cwd });
    assert.equal(run.code, 0, run.stderr);
    const { id } = JSON.parse(run.stdout) as { id: string };
    assert.equal((await server.identity.getDevice(server.accountId, id)).name, "from-default-dir");
  });

  test("--url and --token override the data dir", async () => {
    const dir = await dataDir("wrong", { ports: JSON.stringify({ http: 1 }), token: "wrong-token" });
    const run = await sluice(["device", "list", "--json", "--data-dir", dir, ...auth]);
    assert.equal(run.code, 0, run.stderr);
  });

  test("a data dir without ports.json fails naming the file and --url", async () => {
    const dir = await dataDir("empty", { token: server.accountToken });
    const run = await sluice(["device", "list", "--data-dir", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ports\.json does not exist.*--url/);
  });

  test("a data dir without admin-token fails naming the file and --token", async () => {
    const dir = await dataDir("no-token", { ports: JSON.stringify({ http: port() }) });
    const run = await sluice(["device", "list", "--data-dir", dir]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /admin-token does not exist.*--token/);
  });

  test("a server that is not running fails with exit code 1 and says so", async () => {
    const closed = await closedPort();
    const run = await sluice(["device", "list", "--url", `http://127.0.0.1:${closed}`, "--token", "t"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`cannot reach Sluice at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`));
  });
});
