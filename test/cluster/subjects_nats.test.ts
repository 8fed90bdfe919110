import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection } from "nats";
import { filterSubjects, topicSubject } from "../../src/cluster/subjects.js";
import { isValidTopicFilter, topicMatches } from "../../src/mqtt/topics.js";
import { startNats, type TestNats } from "../helpers/nats_server.js";
import { generateFilter, generateTopic, random } from "../helpers/topic_gen.js";

// The property of subjects.test.ts, checked against a real nats-server rather than our reading
// of NATS's rules: for generated odd topics and filters, the messages NATS delivers to a
// filter's subjects are exactly those MQTT would match.

let nats: TestNats;
let nc: NatsConnection;

before(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await nats?.close();
});

describe("real NATS matching of mapped subjects", () => {
  test("for 60 generated filters and 300 generated topics, NATS delivers exactly the MQTT matches", async () => {
    const rnd = random(2026);
    const topics = [...new Set(Array.from({ length: 300 }, () => generateTopic(rnd)))];
    const filters: string[] = [];
    while (filters.length < 60) {
      const f = generateFilter(rnd, topics[Math.floor(rnd() * topics.length)]!);
      if (isValidTopicFilter(f) && !filters.includes(f)) filters.push(f);
    }
    const received = filters.map(() => new Set<string>());
    for (const [i, filter] of filters.entries()) {
      for (const subject of filterSubjects("ns", filter)) {
        nc.subscribe(subject, { callback: (_err, msg) => received[i]!.add(new TextDecoder().decode(msg.data)) });
      }
    }
    await nc.flush();
    // The payload names the topic; the subject is the mapped one.
    for (const topic of topics) nc.publish(topicSubject("ns", topic)!, new TextEncoder().encode(topic));
    await nc.flush();
    let matches = 0;
    for (const [i, filter] of filters.entries()) {
      const expected = topics.filter((t) => topicMatches(filter, t)).sort();
      matches += expected.length;
      assert.deepEqual([...received[i]!].sort(), expected, `filter ${JSON.stringify(filter)}`);
    }
    assert.ok(matches > 100, `only ${matches} matches: the case says little`);
  });
});
