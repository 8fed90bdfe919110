import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { escapeLevel, filterSubjects, MAX_SUBJECT_BYTES, natsSubjectMatches, namespaceWildcard, queueName, subjectTopic, topicSubject, unescapeLevel } from "../../src/cluster/subjects.js";
import { isValidTopicFilter, isValidTopicName, topicMatches } from "../../src/mqtt/topics.js";
import { generateFilter, generateTopic, ODD_LEVELS, random } from "../helpers/topic_gen.js";

// MQTT topics and filters as NATS subjects (src/cluster/subjects.ts): every valid topic maps to
// one subject and back, and NATS matching of the mapped filter equals MQTT matching.

describe("levels as NATS tokens", () => {
  test("safe levels pass unchanged; others are escaped to [A-Za-z0-9_=-]; the empty level is `=`", () => {
    assert.equal(escapeLevel("temp_1-A"), "temp_1-A");
    assert.equal(escapeLevel(""), "=");
    assert.equal(escapeLevel("."), "=2E");
    assert.equal(escapeLevel("*"), "=2A");
    assert.equal(escapeLevel(">"), "=3E");
    assert.equal(escapeLevel("a b"), "a=20b");
    assert.equal(escapeLevel("="), "=3D");
    assert.equal(escapeLevel("é"), "=C3=A9");
    for (const level of ODD_LEVELS) {
      const token = escapeLevel(level);
      assert.match(token, /^(=|[A-Za-z0-9_=-]+)$/, `token of ${JSON.stringify(level)}`);
      assert.equal(unescapeLevel(token), level);
    }
  });

  test("a token escapeLevel cannot make is refused, not read", () => {
    for (const bad of ["", "a.b", "=4", "=4g", "=41" /* needless escape of A */, "=FF" /* not UTF-8 */, "a b", "*", ">", "=ZZ"]) {
      assert.equal(unescapeLevel(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe("topics and filters as subjects", () => {
  test("examples: namespace, `t`/`d` (topics starting with $), wildcards, the parent level of `#`", () => {
    assert.equal(topicSubject("acc1", "a/b"), "sluice.m.acc1.t.a.b");
    assert.equal(topicSubject("acc1", "a//b/"), "sluice.m.acc1.t.a.=.b.=");
    assert.equal(topicSubject("acc1", "$SYS/x"), "sluice.m.acc1.d.=24SYS.x");
    assert.deepEqual(filterSubjects("acc1", "a/+/c"), ["sluice.m.acc1.t.a.*.c"]);
    assert.deepEqual(filterSubjects("acc1", "a/#"), ["sluice.m.acc1.t.a.>", "sluice.m.acc1.t.a"]);
    assert.deepEqual(filterSubjects("acc1", "#"), ["sluice.m.acc1.t.>"]);
    assert.deepEqual(filterSubjects("acc1", "$SYS/#"), ["sluice.m.acc1.d.=24SYS.>", "sluice.m.acc1.d.=24SYS"]);
  });

  test("a topic too long for a subject takes the overflow subject; a filter too long for one hears the whole namespace", () => {
    const long = "x".repeat(MAX_SUBJECT_BYTES);
    assert.equal(topicSubject("ns", long), undefined);
    assert.deepEqual(filterSubjects("ns", `${long}/#`), [namespaceWildcard("ns")]);
  });

  test("namespaces are kept apart, even with odd characters", () => {
    assert.notEqual(topicSubject("a.b", "c"), topicSubject("a", "b/c"));
    assert.equal(subjectTopic("a", topicSubject("a.b", "c")!), undefined);
    assert.equal(natsSubjectMatches(filterSubjects("a", "#")[0]!, topicSubject("a.b", "c")!), false);
  });

  test("queue names: the same for the same group and filter, different otherwise, always a safe token", () => {
    assert.equal(queueName("ns", "g", "a/#"), queueName("ns", "g", "a/#"));
    assert.notEqual(queueName("ns", "g", "a/#"), queueName("ns", "g", "a/+"));
    assert.notEqual(queueName("ns", "g", "a/#"), queueName("ns", "h", "a/#"));
    assert.notEqual(queueName("ns", "g", "a/#"), queueName("ns2", "g", "a/#"));
    assert.match(queueName("ns", "g h.*", "a b/#"), /^sq_[A-Za-z0-9_-]+$/);
  });
});

describe("property: over generated topics and filters", () => {
  test("every topic maps to one subject and back, and different topics to different subjects", () => {
    const rnd = random(14);
    const seen = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const topic = generateTopic(rnd);
      assert.ok(isValidTopicName(topic));
      const subject = topicSubject("ns", topic)!;
      assert.ok(subject, topic);
      assert.doesNotMatch(subject, /\s|\.\.|\.$/, `subject of ${JSON.stringify(topic)}: ${subject}`);
      assert.equal(subjectTopic("ns", subject), topic);
      const other = seen.get(subject);
      assert.ok(other === undefined || other === topic, `${JSON.stringify(topic)} and ${JSON.stringify(other)} share ${subject}`);
      seen.set(subject, topic);
    }
  });

  test("NATS matching of a filter's subjects equals MQTT matching, `$` topics and `#` parent levels included", () => {
    const rnd = random(4242);
    let matched = 0;
    let cases = 0;
    for (let i = 0; i < 4000; i++) {
      const topic = generateTopic(rnd);
      const filter = generateFilter(rnd, rnd() < 0.8 ? topic : generateTopic(rnd));
      if (!isValidTopicFilter(filter)) continue;
      const subject = topicSubject("ns", topic)!;
      const nats = filterSubjects("ns", filter).some((s) => natsSubjectMatches(s, subject));
      const mqtt = topicMatches(filter, topic);
      assert.equal(nats, mqtt, `filter ${JSON.stringify(filter)} topic ${JSON.stringify(topic)}: NATS ${nats}, MQTT ${mqtt}`);
      cases++;
      if (mqtt) matched++;
    }
    // The generator must exercise both outcomes, or the equality says little.
    assert.ok(cases > 3000 && matched > cases / 5 && matched < cases - cases / 5, `${matched} of ${cases} matched`);
  });
});
