import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_FILTER_PATTERN, wildcardMatch } from "../../src/http/listing.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// List filters: `*` matches any run of characters, case-insensitively, in time bounded by
// pattern × text (a RegExp built from the filter backtracked exponentially: issue 9).

describe("wildcardMatch", () => {
  test("matches as the filters documented: * for any run, the rest literal, any case", () => {
    const cases: [string, string, boolean][] = [
      ["*sensor*", "My Sensor 2", true],
      ["sensor", "SENSOR", true],
      ["sensor", "sensor 2", false],
      ["s*r", "sensor", true],
      ["s*r", "sensors", false],
      ["*", "", true],
      ["", "", true],
      ["", "a", false],
      ["a**b", "ab", true],
      ["*a*b*c*", "xaybzc", true],
      ["*a*b*c*", "xcybza", false],
      ["a.b", "axb", false],
      ["(x)+[y]?", "(x)+[y]?", true],
      ["*ab", "aab", true],
      ["*aab", "aaab", true],
      ["a*", "a\nb", true],
    ];
    for (const [pattern, text, expected] of cases) assert.equal(wildcardMatch(pattern, text), expected, `${pattern} ~ ${JSON.stringify(text)}`);
  });

  test("costs steps linear in pattern plus text, whatever the pattern", () => {
    const steps = (pattern: string, n: number) => {
      const stats = { steps: 0 };
      assert.equal(wildcardMatch(pattern, "a".repeat(n), stats), false);
      return stats.steps;
    };
    // Backtracking worst cases: many stars, and a long run of the text's letter before a miss.
    for (const pattern of [`${"*a".repeat(9)}*b*`, `*${"a".repeat(254)}b*`, `${"*a".repeat(MAX_FILTER_PATTERN / 2 - 1)}b*`]) {
      const [one, two] = [steps(pattern, 10_000), steps(pattern, 20_000)];
      assert.ok(one >= 10_000, `the text is read (${one} steps)`);
      assert.ok(two <= one * 2.2, `${pattern.length}-character pattern: ${one} → ${two} steps when the text doubles`);
      assert.ok(two <= 3 * (20_000 + pattern.length), `${two} steps for a ${pattern.length}-character pattern over 20 000 characters`);
    }
  });

  test("a megabyte of text against the longest pattern is a few million steps (a backtracking matcher took 2.5e8)", () => {
    const stats = { steps: 0 };
    assert.equal(wildcardMatch(`*${"a".repeat(254)}b`, `${"a".repeat(1_000_000)}c`, stats), false);
    assert.ok(stats.steps <= 3 * 1_000_256, String(stats.steps));
    assert.equal(wildcardMatch(`*${"a".repeat(254)}b`, `${"a".repeat(1_000_000)}b`), true);
  });
});

describe("list filters over HTTP", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice();
  });
  after(() => sluice.close());

  const get = async (path: string) => {
    const response = await fetch(`${sluice.api}${path}`, { headers: { token: sluice.adminToken } });
    return { status: response.status, body: (await response.json()) as { status: boolean; result: { name: string }[]; message: string } };
  };

  test("a backtracking pattern against a long action name answers at once", async () => {
    const { deviceId } = await sluice.device();
    const name = "a".repeat(40);
    const created = await fetch(`${sluice.api}/action`, {
      method: "POST", headers: { token: sluice.adminToken, "content-type": "application/json" },
      body: JSON.stringify({ name, type: "mqtt_topic", trigger: [{ device: deviceId, topic: "up" }], action: { type: "insert_bucket" } }),
    });
    assert.equal(created.status, 200);
    const started = performance.now();
    const missed = await get(`/action?filter[name]=${"*a".repeat(9)}*b`);
    assert.equal(missed.status, 200);
    assert.deepEqual(missed.body.result, []);
    assert.ok(performance.now() - started < 1000, "took seconds (11 s before the fix)");
    const found = await get(`/action?filter[name]=${"*a".repeat(9)}*`);
    assert.deepEqual(found.body.result.map((a) => a.name), [name]);
    const devices = await get(`/device?filter[name]=${"*a".repeat(20)}*b`);
    assert.equal(devices.status, 200);
  });

  test("a filter longer than the bound gets 400, on every list", async () => {
    const pattern = "*".repeat(MAX_FILTER_PATTERN + 1);
    for (const path of ["/action", "/device", "/analysis", "/notification"]) {
      const refused = await get(`${path}?filter[name]=${pattern}`);
      assert.equal(refused.status, 400, path);
      assert.match(refused.body.message, new RegExp(`at most ${MAX_FILTER_PATTERN} characters`));
    }
    assert.equal((await get(`/action?filter[name]=${"*".repeat(MAX_FILTER_PATTERN)}`)).status, 200);
  });
});
