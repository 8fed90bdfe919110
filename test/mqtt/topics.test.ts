import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IPubackPacket, IPublishPacket } from "mqtt-packet";
import { RetainedMessages } from "../../src/mqtt/retain.js";
import { SubscriptionTree } from "../../src/mqtt/subscription_tree.js";
import { isValidTopicFilter, isValidTopicName, parseSharedFilter, topicMatches } from "../../src/mqtt/topics.js";
import type { Message, SubscriptionOptions } from "../../src/mqtt/types.js";
import { noPacket, RawClient, uid } from "../helpers/raw_mqtt.js";
import { nextMessages, noMessage, startSluice, type TestSluice } from "../helpers/sluice.js";

// Topic names and filters (3.1.1 / 5.0 §4.7): validation, wildcard matching, `$`-topics;
// and `$SYS`, which Sluice publishes into each account's own namespace.

// ---- topics.ts ----

describe("topic names (§4.7.3)", () => {
  test("a topic name is non-empty and has no wildcards", () => {
    assert.equal(isValidTopicName("a/b"), true);
    assert.equal(isValidTopicName("/"), true);
    assert.equal(isValidTopicName("a//b"), true);
    assert.equal(isValidTopicName(" "), true);
    assert.equal(isValidTopicName(""), false);
    assert.equal(isValidTopicName("a/+"), false);
    assert.equal(isValidTopicName("a/#"), false);
    assert.equal(isValidTopicName("a+b"), false);
  });

  test("a topic name may not contain U+0000", () => {
    assert.equal(isValidTopicName("a\u0000b"), false);
  });

  test("a topic name may be up to 65535 bytes long", () => {
    assert.equal(isValidTopicName("a".repeat(65535)), true);
    assert.equal(isValidTopicName("a".repeat(65536)), false);
  });

  test("the 65535 limit counts UTF-8 bytes, not characters", () => {
    assert.equal(isValidTopicName("é".repeat(40000)), false, "80000 bytes");
  });
});

describe("topic filters (§4.7.1)", () => {
  test("`#` is valid only alone as the last level", () => {
    for (const f of ["#", "a/#", "/#", "a/b/#"]) assert.equal(isValidTopicFilter(f), true, f);
    for (const f of ["a#", "a/#/b", "#/a", "a/b#", "##"]) assert.equal(isValidTopicFilter(f), false, f);
  });

  test("`+` is valid only as a whole level", () => {
    for (const f of ["+", "+/+", "a/+/b", "/+", "+/"]) assert.equal(isValidTopicFilter(f), true, f);
    for (const f of ["a+", "a/+b/c", "++"]) assert.equal(isValidTopicFilter(f), false, f);
  });

  test("an empty filter is invalid", () => {
    assert.equal(isValidTopicFilter(""), false);
  });

  test("a filter may be up to 65535 UTF-8 bytes long", () => {
    assert.equal(isValidTopicFilter(`${"é".repeat(32766)}/#`), true, "65534 bytes");
    assert.equal(isValidTopicFilter(`${"é".repeat(32767)}/#`), false, "65536 bytes");
  });

  test("a filter may not contain U+0000", () => {
    assert.equal(isValidTopicFilter("a/\u0000/#"), false);
  });
});

describe("shared subscription filters (§4.8.2)", () => {
  test("`$share/{group}/{filter}` splits into its group and filter", () => {
    assert.deepEqual(parseSharedFilter("$share/g/a/+"), { group: "g", filter: "a/+" });
    assert.deepEqual(parseSharedFilter("$share/g/#"), { group: "g", filter: "#" });
  });

  test("a plain filter is not shared", () => {
    assert.equal(parseSharedFilter("a/b"), null);
    assert.equal(parseSharedFilter("$SYS/#"), null);
  });

  test("a malformed share is invalid: no group, wildcard in the group, no or invalid filter", () => {
    for (const f of ["$share/", "$share//a", "$share/g", "$share/g/", "$share/g+/a", "$share/g#/a", "$share/g/a#"]) {
      assert.equal(parseSharedFilter(f), "invalid", f);
    }
  });
});

describe("matching (§4.7.1, §4.7.2)", () => {
  const cases: [string, string, boolean][] = [
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/+", "a/", true],
    ["+/+", "/a", true],
    ["+", "/a", false],
    ["/+", "/a", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["a/#", "ab", false],
    ["#", "a/b/c", true],
    ["#", "/", true],
    ["+/b/#", "a/b", true],
    ["a/+/c", "a//c", true],
    ["A/b", "a/b", false],
    ["a/b", "a/b/", false],
  ];
  for (const [filter, topic, expected] of cases) {
    test(`"${filter}" ${expected ? "matches" : "does not match"} "${topic}"`, () => {
      assert.equal(topicMatches(filter, topic), expected);
    });
  }

  test("topics starting with `$` are not matched by filters starting with a wildcard", () => {
    assert.equal(topicMatches("#", "$SYS/broker/uptime"), false);
    assert.equal(topicMatches("+/broker/uptime", "$SYS/broker/uptime"), false);
    assert.equal(topicMatches("+/#", "$x"), false);
    assert.equal(topicMatches("$SYS/#", "$SYS/broker/uptime"), true);
    assert.equal(topicMatches("$SYS/+/uptime", "$SYS/broker/uptime"), true);
    assert.equal(topicMatches("a/#", "a/$b"), true, "only the first level is special");
  });
});

// ---- subscription_tree.ts ----

describe("SubscriptionTree", () => {
  const opts = (qos: 0 | 1 | 2 = 0): SubscriptionOptions => ({ qos, nl: false, rap: false, rh: 0, id: undefined });
  const sessionsMatching = (tree: SubscriptionTree<string>, topic: string) => tree.match(topic).subscribers.map((s) => s.session).sort();

  test("matches exact, `+` and `#` filters like topicMatches does", () => {
    const tree = new SubscriptionTree<string>();
    const filters = ["a/b", "a/+", "a/#", "#", "+/+", "+", "/+", "a/+/c", "+/b/#", "$SYS/#", "$SYS/+"];
    for (const f of filters) tree.add(f, undefined, f, { session: f, options: opts() });
    for (const topic of ["a/b", "a", "a/b/c", "/a", "a//c", "$SYS/x", "$SYS", "b", "x/b", "a/"]) {
      assert.deepEqual(sessionsMatching(tree, topic), filters.filter((f) => topicMatches(f, topic)).sort(), topic);
    }
  });

  test("leading wildcards do not match `$` topics", () => {
    const tree = new SubscriptionTree<string>();
    tree.add("#", undefined, "all", { session: "all", options: opts() });
    tree.add("+/x", undefined, "plus", { session: "plus", options: opts() });
    tree.add("$SYS/#", undefined, "sys", { session: "sys", options: opts() });
    assert.deepEqual(sessionsMatching(tree, "$SYS/x"), ["sys"]);
    assert.deepEqual(sessionsMatching(tree, "$other/x"), []);
  });

  test("one key holds one subscription per filter: adding again replaces its options", () => {
    const tree = new SubscriptionTree<string>();
    assert.equal(tree.add("a", undefined, "k", { session: "k", options: opts(0) }), true);
    assert.equal(tree.add("a", undefined, "k", { session: "k", options: opts(2) }), false);
    const m = tree.match("a").subscribers;
    assert.equal(m.length, 1);
    assert.equal(m[0]!.options.qos, 2);
    assert.equal(tree.size, 1);
  });

  test("a removed subscription no longer matches, and the cache does not keep it", () => {
    const tree = new SubscriptionTree<string>();
    tree.add("a/+", undefined, "k", { session: "k", options: opts() });
    assert.deepEqual(sessionsMatching(tree, "a/b"), ["k"]);
    assert.equal(tree.remove("a/+", undefined, "k"), true);
    assert.deepEqual(sessionsMatching(tree, "a/b"), []);
    assert.equal(tree.remove("a/+", undefined, "k"), false);
    assert.equal(tree.size, 0);
  });

  test("removing one filter leaves the others on shared branches", () => {
    const tree = new SubscriptionTree<string>();
    tree.add("a/b/c", undefined, "deep", { session: "deep", options: opts() });
    tree.add("a/b", undefined, "mid", { session: "mid", options: opts() });
    tree.remove("a/b/c", undefined, "deep");
    assert.deepEqual(sessionsMatching(tree, "a/b"), ["mid"]);
    tree.add("a/b/c", undefined, "deep", { session: "deep", options: opts() });
    assert.deepEqual(sessionsMatching(tree, "a/b/c"), ["deep"]);
  });

  test("shared subscriptions come back as groups, one per group name", () => {
    const tree = new SubscriptionTree<string>();
    tree.add("a/+", "g1", "x", { session: "x", options: opts() });
    tree.add("a/+", "g1", "y", { session: "y", options: opts() });
    tree.add("a/#", "g2", "z", { session: "z", options: opts() });
    tree.add("a/b", undefined, "plain", { session: "plain", options: opts() });
    const m = tree.match("a/b");
    assert.deepEqual(m.subscribers.map((s) => s.session), ["plain"]);
    assert.deepEqual(m.groups.map((g) => [g.name, [...g.members.keys()].sort()]).sort(), [["g1", ["x", "y"]], ["g2", ["z"]]]);
  });

  test("a group whose last member leaves is gone", () => {
    const tree = new SubscriptionTree<string>();
    tree.add("a", "g", "x", { session: "x", options: opts() });
    tree.remove("a", "g", "x");
    assert.deepEqual(tree.match("a").groups, []);
  });
});

// ---- retain.ts ----

describe("RetainedMessages", () => {
  const msg = (topic: string, payload = "p", expiresAt?: number): Message => ({
    topic, payload: Buffer.from(payload), qos: 0, retain: true, properties: undefined, expiresAt, publisher: undefined,
  });
  const topicsMatching = (r: RetainedMessages, filter: string) => r.match(filter, Date.now()).map((m) => m.topic).sort();

  test("keeps one message per topic, the last one", () => {
    const r = new RetainedMessages();
    r.set(msg("a", "1"));
    r.set(msg("a", "2"));
    assert.equal(r.size, 1);
    assert.equal(r.get("a")!.payload.toString(), "2");
  });

  test("an empty payload deletes the topic's message", () => {
    const r = new RetainedMessages();
    r.set(msg("a/b"));
    r.set(msg("a/b", ""));
    assert.equal(r.size, 0);
    assert.equal(r.get("a/b"), undefined);
    r.set(msg("never/set", ""));
    assert.equal(r.size, 0);
  });

  test("match follows the filter's wildcards like topicMatches does", () => {
    const r = new RetainedMessages();
    const topics = ["a", "a/b", "a/b/c", "a/c", "/a", "b", "a//c", "$SYS/x"];
    for (const t of topics) r.set(msg(t));
    for (const f of ["#", "a/#", "a/+", "+/+", "+", "/+", "a/+/c", "+/b/#", "a/b", "$SYS/#", "$SYS/+", "nothing/#"]) {
      assert.deepEqual(topicsMatching(r, f), topics.filter((t) => topicMatches(f, t)).sort(), f);
    }
  });

  test("`#` and `+` at the first level leave `$` topics out", () => {
    const r = new RetainedMessages();
    r.set(msg("$SYS/broker/uptime"));
    r.set(msg("a"));
    assert.deepEqual(topicsMatching(r, "#"), ["a"]);
    assert.deepEqual(topicsMatching(r, "+/broker/uptime"), []);
  });

  test("expired messages are not matched and are dropped", () => {
    const r = new RetainedMessages();
    r.set(msg("old", "x", Date.now() - 1));
    r.set(msg("new", "x", Date.now() + 60_000));
    assert.deepEqual(topicsMatching(r, "#"), ["new"]);
    assert.equal(r.size, 1);
  });

  test("entries lists every message", () => {
    const r = new RetainedMessages();
    for (const t of ["a", "a/b", "c"]) r.set(msg(t));
    assert.deepEqual([...r.entries()].map((m) => m.topic).sort(), ["a", "a/b", "c"]);
  });
});

// ---- end to end ----

// The tests are independent (own topics, client ids, accounts): they run concurrently.
describe("over the wire", { concurrency: true }, () => {
  let sluice: TestSluice;
  let token: string;
  before(async () => {
    sluice = await startSluice({ sysInterval: 1 });
    token = (await sluice.device()).token;
  });
  after(() => sluice.close());

  for (const protocolVersion of [4, 5] as const) {
    const v = protocolVersion === 5 ? "5.0" : "3.1.1";

    test(`${v}: \`#\` and \`+/...\` subscriptions do not receive \`$\` topics`, async () => {
      // An account of its own, so that only `$SYS` updates could reach these filters.
      const own = (await sluice.device({ accountId: await sluice.account() })).token;
      const sub = await sluice.connect({ username: "Token", password: own, protocolVersion });
      await sub.subscribeAsync({ "#": { qos: 0 }, "+/broker/#": { qos: 0 } });
      assert.equal(await noMessage(sub, 1300), true, "no $SYS update (published every second) reached it");
    });

    test(`${v}: a subscription to \`$SYS/#\` receives the account's \`$SYS/broker/...\` values`, async () => {
      const sub = await sluice.connect({ username: "Token", password: token, protocolVersion });
      const got = nextMessages(sub, 1, 2500);
      await sub.subscribeAsync("$SYS/broker/version", { qos: 0 });
      const [m] = await got;
      assert.equal(m!.topic, "$SYS/broker/version");
      assert.match(m!.payload, /sluice/);
    });

    test(`${v}: a topic starting with \`$\` (other than $SYS) can be published and subscribed to by name`, async () => {
      const root = `$${uid("app")}`;
      const topic = `${root}/d`;
      const sub = await sluice.connect({ username: "Token", password: token, protocolVersion });
      await sub.subscribeAsync(`${root}/#`, { qos: 1 });
      const got = nextMessages(sub);
      const pub = await sluice.connect({ username: "Token", password: token, protocolVersion });
      await pub.publishAsync(topic, "x", { qos: 1 });
      assert.equal((await got)[0]!.topic, topic);
    });
  }

  test("one account never sees another account's $SYS values", async () => {
    const lonely = (await sluice.device({ accountId: await sluice.account() })).token;
    // The other account (the admin's) has several clients connected meanwhile.
    for (let i = 0; i < 3; i++) await sluice.connect({ username: "Token", password: token });
    const sub = await sluice.connect({ username: "Token", password: lonely, protocolVersion: 5 });
    const updates: string[] = [];
    sub.on("message", (topic, payload) => topic === "$SYS/broker/clients/connected" && updates.push(payload.toString()));
    await sub.subscribeAsync("$SYS/broker/clients/connected", { qos: 0 });
    const deadline = Date.now() + 2500;
    while (updates.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(updates.length >= 1, "the account gets its own $SYS values");
    assert.deepEqual([...new Set(updates)], ["1"], "only its own single client is counted");
  });

  test("$SYS messages counts only the account's own traffic", async () => {
    const other = await sluice.account();
    const t = (await sluice.device({ accountId: other })).token;
    const pub = await sluice.connect({ username: "Token", password: token });
    for (let i = 0; i < 5; i++) await pub.publishAsync(uid("traffic/"), "x", { qos: 1 });
    const sub = await sluice.connect({ username: "Token", password: t, protocolVersion: 5 });
    const own = await sluice.connect({ username: "Token", password: t });
    await own.publishAsync(uid("traffic/"), "y", { qos: 1 });
    const values: string[] = [];
    sub.on("message", (topic, payload) => topic === "$SYS/broker/messages/received" && values.push(payload.toString()));
    await sub.subscribeAsync("$SYS/broker/messages/received", { qos: 0 });
    const deadline = Date.now() + 2500;
    while (!values.includes("1") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // "0" is possible only from an update made before its one publication was counted.
    assert.ok(values.includes("1"), `values: ${values}`);
    assert.ok(values.every((v) => v === "0" || v === "1"), `values: ${values}`);
  });

  test("5.0: a client cannot publish to $SYS (PUBACK 0x87) and nothing is delivered", async () => {
    const sub = await sluice.connect({ username: "Token", password: token, protocolVersion: 5 });
    await sub.subscribeAsync("$SYS/broker/fake", { qos: 1 });
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
    client.send({ cmd: "publish", topic: "$SYS/broker/fake", payload: Buffer.from("spoof"), qos: 1, messageId: 3, retain: false, dup: false });
    assert.equal(((await client.next("puback")) as IPubackPacket).reasonCode, 0x87);
    assert.equal(await noMessage(sub, 200), true);
    await client.disconnect();
  });

  test("3.1.1: a client's publication to $SYS is acknowledged and dropped", async () => {
    const { client: sub } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 4 });
    await sub.subscribe("$SYS/broker/fake311", { qos: 1 });
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 4 });
    client.send({ cmd: "publish", topic: "$SYS/broker/fake311", payload: Buffer.from("spoof"), qos: 1, messageId: 3, retain: false, dup: false });
    await client.next("puback");
    assert.equal(await noPacket(sub, "publish", 200), true);
    await client.disconnect();
    await sub.disconnect();
  });

  test("5.0: SUBSCRIBE with an invalid filter gets 0x8F for that filter only", async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
    client.send({ cmd: "subscribe", messageId: 4, subscriptions: [{ topic: "a/#/b", qos: 1 }, { topic: "a/+", qos: 1 }] });
    const suback = await client.next("suback");
    assert.deepEqual((suback as { granted: number[] }).granted, [0x8f, 1]);
    await client.disconnect();
  });

  test("3.1.1: SUBSCRIBE with an invalid filter gets 0x80 for that filter only", async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 4 });
    client.send({ cmd: "subscribe", messageId: 4, subscriptions: [{ topic: "a+", qos: 1 }, { topic: "a/+", qos: 2 }] });
    const suback = await client.next("suback");
    assert.deepEqual((suback as { granted: number[] }).granted, [0x80, 2]);
    await client.disconnect();
  });

  test("a PUBLISH to a topic name with a wildcard ends the connection", async () => {
    const { client } = await RawClient.connect(sluice.ports.mqtt, { password: token, protocolVersion: 5 });
    // mqtt-packet encodes it; the broker must refuse it (§3.3.2.1).
    client.send({ cmd: "publish", topic: "a/+", payload: Buffer.from("x"), qos: 0, retain: false, dup: false } as IPublishPacket);
    const d = await client.next("disconnect");
    assert.equal((d as { reasonCode?: number }).reasonCode, 0x90);
    await client.closed;
  });
});
