import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Action } from "../../src/pipeline/action_model.js";
import type { AccountRow, DeviceRow, DeviceTokenRow, StoredSessionState } from "../../src/store/types.js";
import { backends, type BackendHandle, type TestStore } from "../helpers/backends.js";

// The Store contract (identity, broker state, users and sign-in sessions), run once per backend
// (test/helpers/backends.ts): embedded SQLite and PostgreSQL must answer alike.

const T = Date.parse("2025-03-01T00:00:00.000Z");
const at = (s: number) => new Date(T + s * 1000);

for (const h0 of backends()) {
  describe(`Store on ${h0.name}`, () => {
    let h: BackendHandle;
    let store: TestStore;
    let n = 0;
    const id = (prefix: string) => `${prefix}${++n}`;

    before(async () => {
      h = await h0.start();
      store = await h.store();
    });
    after(async () => {
      await h.stop();
    });

    async function account(extra: Partial<AccountRow> = {}): Promise<AccountRow> {
      const row: AccountRow = { id: id("acc"), name: "Acme", createdAt: at(n), plan: null, admin: false, ...extra };
      await store.identity.insertAccount(row);
      return row;
    }
    async function device(accountId: string, extra: Partial<DeviceRow> = {}): Promise<DeviceRow> {
      const row: DeviceRow = {
        id: id("dev"), accountId, name: "sensor", active: true, tags: [], extra: {}, createdAt: at(n), updatedAt: at(n), ...extra,
      };
      await store.identity.insertDevice(row);
      return row;
    }
    function deviceToken(d: DeviceRow, extra: Partial<DeviceTokenRow> = {}): DeviceTokenRow {
      return {
        id: id("tok"), deviceId: d.id, accountId: d.accountId, tokenHash: id("hash"), prefix: "abcd", name: "t", permission: "full",
        createdAt: at(n), expiresAt: null, serieNumber: null, lastAuthorization: null, mintedBy: null, ...extra,
      };
    }

    describe("accounts and account tokens", () => {
      test("insert, get, list in creation order, count, plan", async () => {
        const before = await store.identity.countAccounts();
        const a = await account({ admin: true });
        const b = await account({ plan: "scale" });
        assert.deepEqual(await store.identity.getAccount(a.id), a);
        assert.equal(await store.identity.getAccount("nope"), undefined);
        assert.equal(await store.identity.countAccounts(), before + 2);
        const listed = await store.identity.listAccounts();
        assert.deepEqual(listed.slice(-2), [a, b]);
        assert.equal(await store.identity.setAccountPlan(a.id, "pro"), true);
        assert.equal((await store.identity.getAccount(a.id))?.plan, "pro");
        assert.equal(await store.identity.setAccountPlan("nope", "pro"), false);
      });

      test("tokens by hash and id, listed, touched, expiring, deleted", async () => {
        const a = await account();
        const other = await account();
        const token = {
          id: id("at"), accountId: a.id, tokenHash: id("h"), name: "ci", createdAt: at(1), expiresAt: at(100), permission: "read" as const,
          prefix: "12345678", lastAuthorization: null, analysisId: null,
        };
        await store.identity.insertAccountToken(token);
        await store.identity.insertAccountToken({ ...token, id: id("at"), tokenHash: id("h"), createdAt: at(2), expiresAt: null });
        assert.deepEqual(await store.identity.findAccountTokenByHash(token.tokenHash), token);
        assert.deepEqual(await store.identity.findAccountToken(a.id, token.id), token);
        assert.equal(await store.identity.findAccountToken(other.id, token.id), undefined, "another account's token is not found");
        assert.equal((await store.identity.listAccountTokens(a.id)).length, 2);
        await store.identity.touchAccountToken(token.id, at(50));
        assert.equal((await store.identity.findAccountToken(a.id, token.id))?.lastAuthorization?.getTime(), at(50).getTime());
        assert.deepEqual((await store.identity.listAccountTokensExpiring(at(99), at(100))).map((t) => t.id), [token.id], "(after, upTo]");
        assert.deepEqual(await store.identity.listAccountTokensExpiring(at(100), at(200)), []);
        assert.equal(await store.identity.deleteAccountToken(token.id), true);
        assert.equal(await store.identity.deleteAccountToken(token.id), false);
      });
    });

    describe("devices and device tokens", () => {
      test("insert, update, get keep every field; another account's device is not found", async () => {
        const a = await account();
        const d = await device(a.id, { tags: [{ key: "k", value: "v" }], extra: { description: "x", visible: false } });
        const got = await store.identity.getDevice(a.id, d.id);
        assert.deepEqual(got, { ...d, lastInput: null });
        const changed = { ...d, name: "renamed", active: false, tags: [], extra: { a: [1, 2] }, updatedAt: at(999) };
        await store.identity.updateDevice(changed);
        assert.deepEqual(await store.identity.getDevice(a.id, d.id), { ...changed, lastInput: null });
        assert.equal(await store.identity.getDevice((await account()).id, d.id), undefined);
        assert.equal(await store.identity.countDevices(a.id), 1);
      });

      test("list: orders, directions, paging, wildcard filters on name, id, active and tags", async () => {
        const a = await account();
        const names = ["Sensor 10", "sensor 2", "gateway", "Ämbient", "sensor 1"];
        const made: DeviceRow[] = [];
        for (const [i, name] of names.entries()) {
          made.push(await device(a.id, { name, active: i % 2 === 0, tags: [{ key: "Room", value: i < 2 ? "Kitchen" : "Hall" }], createdAt: at(i), updatedAt: at(10 - i) }));
        }
        const list = async (q: Partial<Parameters<typeof store.identity.listDevices>[1]>) =>
          (await store.identity.listDevices(a.id, { limit: 50, offset: 0, ...q })).map((d) => d.name);
        assert.deepEqual(await list({}), ["Ämbient", "gateway", "sensor 1", "sensor 2", "Sensor 10"], "by name as people read it");
        assert.deepEqual(await list({ desc: true }), ["Sensor 10", "sensor 2", "sensor 1", "gateway", "Ämbient"]);
        assert.deepEqual(await list({ order: "created_at" }), names);
        assert.deepEqual(await list({ order: "updated_at" }), [...names].reverse());
        assert.deepEqual(await list({ limit: 2, offset: 1 }), ["gateway", "sensor 1"]);
        assert.deepEqual(await list({ name: "SENSOR*" }), ["sensor 1", "sensor 2", "Sensor 10"]);
        assert.deepEqual(await list({ name: "*ens*" }), ["sensor 1", "sensor 2", "Sensor 10"]);
        assert.deepEqual(await list({ name: "*BIE*" }), ["Ämbient"], "case-insensitive beyond ASCII too");
        assert.deepEqual(await list({ name: "ä*" }), ["Ämbient"]);
        assert.deepEqual(await list({ name: "s*1*" }), ["sensor 1", "Sensor 10"]);
        assert.deepEqual(await list({ name: "gateway" }), ["gateway"]);
        assert.deepEqual(await list({ name: "50%_\\" }), [], "LIKE's own characters are literal");
        const odd = await device(a.id, { name: "a.b(c)[d]{e}|f+g?h^i$j\\k 50%_\nz" });
        const oddOnly = async (name: string) => (await store.identity.listDevices(a.id, { limit: 50, offset: 0, name })).map((d) => d.id);
        assert.deepEqual(await oddOnly("a.b(*)[d]{e}|f+g?h^i$j\\k*%_\nz"), [odd.id], "pattern characters of SQL and regular expressions are literal");
        assert.deepEqual(await oddOnly("*%_*"), [odd.id]);
        assert.deepEqual(await oddOnly("a*b*z"), [odd.id], "a star spans a line break");
        assert.deepEqual(await oddOnly("a?b*"), []);
        assert.deepEqual(await oddOnly("*k 50__*"), []);
        assert.equal(await store.identity.deleteDevice(a.id, odd.id), true);
        assert.deepEqual(await list({ id: made[2]!.id }), ["gateway"]);
        assert.deepEqual(await list({ active: "false" }), ["Ämbient", "sensor 2"]);
        assert.deepEqual(await list({ active: "tr*" }), ["gateway", "sensor 1", "Sensor 10"]);
        assert.deepEqual(await list({ active: "maybe" }), []);
        assert.deepEqual(await list({ active: "*" }), await list({}));
        assert.deepEqual(await list({ tags: [{ key: "room", value: "kit*" }] }), ["sensor 2", "Sensor 10"]);
        assert.deepEqual(await list({ tags: [{ value: "hall" }], name: "*1" }), ["sensor 1"]);
        assert.deepEqual(await list({ tags: [{ key: "floor" }] }), []);
      });

      test("names of any length: a megabyte name is stored, renamed and listed in name order", async () => {
        const a = await account();
        // Past every B-tree entry's size (about 2.7 kB on PostgreSQL); names sharing their sort
        // key (its first 200 characters) still order by the whole name.
        const long = (last: string) => `${"x".repeat(1_000_000)}${last}`;
        const b = await device(a.id, { name: long("b") });
        const c = await device(a.id, { name: long("a") });
        const short = await device(a.id, { name: "w" });
        assert.equal((await store.identity.getDevice(a.id, b.id))?.name, b.name);
        await store.identity.updateDevice({ ...c, name: long("c"), updatedAt: at(999) });
        const list = async (desc: boolean) => (await store.identity.listDevices(a.id, { limit: 10, offset: 0, desc })).map((d) => d.id);
        assert.deepEqual(await list(false), [short.id, b.id, c.id]);
        assert.deepEqual(await list(true), [c.id, b.id, short.id]);
        assert.deepEqual((await store.identity.listDevices(a.id, { limit: 10, offset: 0, name: "*xc" })).map((d) => d.id), [c.id]);
      });

      test("last input: raised, never lowered; listed last when never heard from", async () => {
        const a = await account();
        const d1 = await device(a.id, { name: "a" });
        const d2 = await device(a.id, { name: "b" });
        await device(a.id, { name: "c" });
        await store.identity.setLastInputs([[d1.id, 5000], [d2.id, 9000]]);
        await store.identity.setLastInputs([[d1.id, 1000], [d2.id, 10_000]]);
        assert.equal((await store.identity.getDevice(a.id, d1.id))?.lastInput?.getTime(), 5000, "never lowered");
        assert.equal((await store.identity.getDevice(a.id, d2.id))?.lastInput?.getTime(), 10_000);
        const order = async (desc: boolean) =>
          (await store.identity.listDevices(a.id, { limit: 10, offset: 0, order: "last_input", desc })).map((d) => d.name);
        assert.deepEqual(await order(false), ["a", "b", "c"]);
        assert.deepEqual(await order(true), ["b", "a", "c"], "never heard from: last either way");
      });

      test("device tokens: found by hash and id, listed, expiring, minted-by revocation, gone with their device", async () => {
        const a = await account();
        const d = await device(a.id);
        const t1 = deviceToken(d, { expiresAt: at(100), serieNumber: "SN1", mintedBy: "analysis-token" });
        const t2 = deviceToken(d, { createdAt: at(n + 10) });
        await store.identity.insertDeviceToken(t1);
        await store.identity.insertDeviceToken(t2);
        assert.deepEqual(await store.identity.findDeviceTokenByHash(t1.tokenHash), t1);
        assert.deepEqual(await store.identity.findDeviceToken(a.id, t2.id), t2);
        assert.deepEqual((await store.identity.listDeviceTokens(a.id, d.id)).map((t) => t.id), [t1.id, t2.id]);
        await store.identity.touchDeviceToken(t2.id, at(7));
        assert.equal((await store.identity.findDeviceToken(a.id, t2.id))?.lastAuthorization?.getTime(), at(7).getTime());
        assert.deepEqual((await store.identity.listTokensExpiring(at(0), at(100))).map((t) => t.id), [t1.id]);
        assert.deepEqual(await store.identity.deleteDeviceTokensMintedBy("analysis-token"), [t1.id]);
        assert.equal(await store.identity.findDeviceTokenByHash(t1.tokenHash), undefined);
        assert.equal(await store.identity.deleteDevice(a.id, d.id), true);
        assert.equal(await store.identity.findDeviceTokenByHash(t2.tokenHash), undefined, "a device's tokens go with it");
        assert.equal(await store.identity.deleteDevice(a.id, d.id), false);
      });
    });

    describe("users, setup links and sign-in sessions", () => {
      test("users: unique email across accounts, listed, password, last login; the last one cannot go", async () => {
        const a = await account();
        const u1 = { id: id("u"), accountId: a.id, email: `${id("e")}@x.io`, name: "Ann", passwordHash: null, createdAt: at(1), lastLogin: null };
        const u2 = { ...u1, id: id("u"), email: `${id("e")}@x.io`, name: "Bob", createdAt: at(2) };
        await store.users.insertUser(u1);
        await store.users.insertUser(u2);
        await assert.rejects(store.users.insertUser({ ...u1, id: id("u"), accountId: (await account()).id }), "the email is taken in any account");
        assert.deepEqual(await store.users.getUser(a.id, u1.id), u1);
        assert.deepEqual(await store.users.findUser(u2.id), u2);
        assert.deepEqual(await store.users.findUserByEmail(u2.email), u2);
        assert.deepEqual((await store.users.listUsers(a.id)).map((u) => u.id), [u1.id, u2.id]);
        assert.equal(await store.users.countUsers(a.id), 2);
        await store.users.setPassword(u1.id, "scrypt$x");
        await store.users.touchLogin(u1.id, at(9));
        const got = await store.users.getUser(a.id, u1.id);
        assert.equal(got?.passwordHash, "scrypt$x");
        assert.equal(got?.lastLogin?.getTime(), at(9).getTime());

        const session = { id: id("s"), tokenHash: id("sh"), userId: u2.id, accountId: a.id, createdAt: at(1), lastSeenAt: at(1), expiresAt: at(1000) };
        await store.userSessions.insertSession(session);
        assert.deepEqual(await store.users.deleteUser(a.id, u2.id), { sessionIds: [session.id] });
        assert.equal(await store.userSessions.findSessionByHash(session.tokenHash), undefined);
        assert.equal(await store.users.deleteUser(a.id, u1.id), "last");
        assert.equal(await store.users.deleteUser(a.id, "nobody"), false);
      });

      test("setup links: replaced, live until expiry, consumed once", async () => {
        const a = await account();
        const u = { id: id("u"), accountId: a.id, email: `${id("e")}@x.io`, name: "C", passwordHash: null, createdAt: at(1), lastLogin: null };
        await store.users.insertUser(u);
        await store.users.replaceSetupToken({ tokenHash: "first", userId: u.id, createdAt: at(1), expiresAt: at(100) });
        await store.users.replaceSetupToken({ tokenHash: "second", userId: u.id, createdAt: at(2), expiresAt: at(100) });
        assert.equal(await store.users.findSetupToken("first"), undefined, "replaced");
        assert.equal((await store.users.liveSetupToken(u.id, at(50)))?.tokenHash, "second");
        assert.equal(await store.users.liveSetupToken(u.id, at(100)), undefined, "expired at its expiry");
        const [once, twice] = await Promise.all([store.users.consumeSetupToken("second", "scrypt$a"), store.users.consumeSetupToken("second", "scrypt$b")]);
        assert.equal([once, twice].filter(Boolean).length, 1, "one use wins");
        assert.match((await store.users.findUser(u.id))!.passwordHash!, /^scrypt\$[ab]$/);
        assert.equal(await store.users.findSetupToken("second"), undefined);
      });

      test("sessions: found by hash, touched, trimmed to the newest, deleted by user, expired", async () => {
        const a = await account();
        const u = { id: id("u"), accountId: a.id, email: `${id("e")}@x.io`, name: "D", passwordHash: null, createdAt: at(1), lastLogin: null };
        await store.users.insertUser(u);
        const s = (i: number, extra: object = {}) => ({
          id: `${u.id}-s${i}`, tokenHash: `${u.id}-h${i}`, userId: u.id, accountId: a.id, createdAt: at(i), lastSeenAt: at(i), expiresAt: at(1000), ...extra,
        });
        for (let i = 1; i <= 5; i++) await store.userSessions.insertSession(s(i));
        assert.deepEqual(await store.userSessions.findSessionByHash(`${u.id}-h3`), s(3));
        await store.userSessions.touchSession(s(1).id, at(500));
        assert.equal((await store.userSessions.findSessionByHash(`${u.id}-h1`))?.lastSeenAt.getTime(), at(500).getTime());
        assert.deepEqual((await store.userSessions.trimUserSessions(u.id, 3)).sort(), [s(1).id, s(2).id].sort(), "the oldest by creation go");
        assert.deepEqual(await store.userSessions.deleteUserSessions(u.id, s(5).id).then((x) => x.sort()), [s(3).id, s(4).id]);
        assert.equal(await store.userSessions.deleteSession(s(5).id), true);
        assert.equal(await store.userSessions.deleteSession(s(5).id), false);
        await store.userSessions.insertSession(s(6, { expiresAt: at(10) }));
        await store.userSessions.insertSession(s(7, { lastSeenAt: at(20) }));
        await store.userSessions.insertSession(s(8, { lastSeenAt: at(90) }));
        assert.deepEqual((await store.userSessions.deleteExpiredSessions(at(10), at(50))).sort(), [s(6).id, s(7).id]);
        assert.deepEqual(await store.userSessions.deleteUserSessions(u.id), [s(8).id]);
      });
    });

    describe("actions", () => {
      test("stored whole, replaced by id, deleted within their account, gone with their account's delete only", async () => {
        const a = await account();
        const action = (name: string, extra: Partial<Action> = {}): Action => ({
          id: id("act"), accountId: a.id, name, active: true, description: null, tags: [{ key: "k", value: "v" }], type: "mqtt_topic",
          trigger: [{ topic: "a/#" }] as unknown as Action["trigger"], action: { type: "insert_bucket" } as unknown as Action["action"],
          lock: false, trigger_when_unlock: false, last_triggered: null, createdAt: at(1), updatedAt: at(1), ...extra,
        });
        const one = action("one", { last_triggered: at(5) });
        const two = action("two");
        await store.actions.put(one);
        await store.actions.put(two);
        const changed = { ...two, name: "two, renamed", lock: true, updatedAt: at(9) };
        await store.actions.put(changed);
        const mine = (await store.actions.all()).filter((x) => x.accountId === a.id).sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(mine, [one, changed].sort((x, y) => (x.id < y.id ? -1 : 1)), "dates come back as dates");
        assert.equal(await store.actions.delete((await account()).id, one.id), false, "not from another account");
        assert.equal(await store.actions.delete(a.id, one.id), true);
        assert.deepEqual((await store.actions.all()).filter((x) => x.accountId === a.id).map((x) => x.id), [two.id]);
      });
    });

    describe("broker state", () => {
      const state = (clientId: string, extra: Partial<StoredSessionState> = {}): StoredSessionState => ({
        namespace: "ns", clientId, expiryInterval: 3600, disconnectedAt: 1000, incomingQos2: [7], principal: { account: "a" }, ...extra,
      });
      const message = (topic: string, payload: string) => ({
        topic, payload: Buffer.from(payload), qos: 1 as const, retain: false, properties: { correlationData: Buffer.from([1, 2]), userProperties: { k: "v" } }, expiresAt: null,
      });

      test("retained messages: stored, replaced, deleted by an empty payload, loaded with their properties", async () => {
        await store.broker.putRetained("ns", { ...message("a/b", "one"), retain: true });
        await store.broker.putRetained("ns", { ...message("a/b", "two"), retain: true, expiresAt: 5000 });
        await store.broker.putRetained("ns2", { ...message("a/b", "x"), retain: true });
        await store.broker.putRetained("ns2", { ...message("a/b", ""), retain: true });
        const loaded = await store.broker.loadRetained();
        assert.equal(loaded.length, 1);
        assert.equal(loaded[0]!.payload.toString(), "two");
        assert.equal(loaded[0]!.expiresAt, 5000);
        assert.deepEqual(loaded[0]!.properties, { correlationData: Buffer.from([1, 2]), userProperties: { k: "v" } });
      });

      test("sessions: state, subscriptions, stored and queued messages in seq order; a queued message shared by sessions", async () => {
        await store.broker.writeSessions([
          { kind: "state", state: state("c1"), fresh: true },
          { kind: "state", state: state("c2"), fresh: true },
          { kind: "subscribe", namespace: "ns", clientId: "c1", subscriptions: [{ filter: "a/#", qos: 1, nl: true, rap: false, rh: 2, id: 9 }, { filter: "b", qos: 0, nl: false, rap: true, rh: 0 }] },
          { kind: "subscribe", namespace: "ns", clientId: "c2", subscriptions: [{ filter: "a/#", qos: 2, nl: false, rap: false, rh: 0 }] },
          { kind: "unsubscribe", namespace: "ns", clientId: "c1", filters: ["b"] },
          { kind: "state", state: state("c1"), messages: [{ ...message("a/1", "inflight"), seq: 1, state: "inflight", packetId: 11 }] },
          { kind: "queue", namespace: "ns", message: message("a/2", "queued"), copies: [
            { clientId: "c1", seq: 2, qos: 1, retain: false, subscriptionIds: [9] }, { clientId: "c2", seq: 1, qos: 1, retain: true },
            { clientId: "gone", seq: 1, qos: 1, retain: false },
          ] },
        ]);
        const sessions = new Map((await store.broker.loadSessions()).map((s) => [s.clientId, s]));
        assert.deepEqual([...sessions.keys()].sort(), ["c1", "c2"]);
        const c1 = sessions.get("c1")!;
        assert.equal(c1.expiryInterval, 3600);
        assert.deepEqual(c1.incomingQos2, [7]);
        assert.deepEqual(c1.principal, { account: "a" });
        assert.deepEqual(c1.subscriptions, [{ filter: "a/#", qos: 1, nl: true, rap: false, rh: 2, id: 9 }]);
        assert.deepEqual(c1.messages.map((m) => [m.seq, m.state, m.packetId, m.topic, m.payload.toString()]), [[1, "inflight", 11, "a/1", "inflight"], [2, "queued", null, "a/2", "queued"]]);
        assert.deepEqual(c1.messages[1]!.properties, { correlationData: Buffer.from([1, 2]), userProperties: { k: "v" }, subscriptionIdentifier: [9] });
        const c2 = sessions.get("c2")!;
        assert.deepEqual(c2.messages.map((m) => [m.seq, m.qos, m.retain, m.payload.toString()]), [[1, 1, true, "queued"]]);
        assert.equal(c2.messages[0]!.properties?.subscriptionIdentifier, undefined);
      });

      test("a fresh session drops what the client id held before; delete removes everything", async () => {
        await store.broker.writeSessions([{ kind: "state", state: state("c1", { disconnectedAt: null }), fresh: true }]);
        let c1 = (await store.broker.loadSessions()).find((s) => s.clientId === "c1")!;
        assert.deepEqual(c1.subscriptions, []);
        assert.deepEqual(c1.messages, [], "neither its stored nor its queued messages are the new session's");
        assert.equal(c1.disconnectedAt, null);
        await store.broker.writeSessions([
          { kind: "queue", namespace: "ns", message: message("x", "later"), copies: [{ clientId: "c1", seq: 5, qos: 0, retain: false }] },
        ]);
        c1 = (await store.broker.loadSessions()).find((s) => s.clientId === "c1")!;
        assert.deepEqual(c1.messages.map((m) => m.payload.toString()), ["later"]);
        await store.broker.writeSessions([{ kind: "delete", namespace: "ns", clientId: "c1" }, { kind: "delete", namespace: "ns", clientId: "c2" }]);
        assert.deepEqual(await store.broker.loadSessions(), []);
      });

      test("writeSessions is all or nothing", async () => {
        await store.broker.writeSessions([{ kind: "state", state: state("keep"), fresh: true }]);
        const bad = { kind: "subscribe", namespace: "ns", clientId: "keep", subscriptions: [{ filter: null, qos: 0, nl: false, rap: false, rh: 0 }] } as never;
        await assert.rejects(async () => store.broker.writeSessions([{ kind: "state", state: state("half"), fresh: true }, bad]));
        const ids = (await store.broker.loadSessions()).map((s) => s.clientId);
        assert.deepEqual(ids, ["keep"], "the first write of the failed batch is not stored either");
      });

      test("what one Store wrote, another on the same database loads (a restart, or another node)", async () => {
        const again = await h.store();
        assert.deepEqual((await again.broker.loadSessions()).map((s) => s.clientId), ["keep"]);
        assert.equal((await again.broker.loadRetained()).length, 1);
      });
    });
  });
}
