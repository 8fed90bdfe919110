import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toParserInput } from "../../src/sandbox/parser_input.js";

// How a published MQTT message becomes the records a parser (and the pipeline) starts from.

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("toParserInput", () => {
  test("one record in the data format is kept, with metadata.topic", () => {
    assert.deepEqual(toParserInput("site/a", json({ variable: "temperature", value: 21, unit: "C" })), [
      { variable: "temperature", value: 21, unit: "C", metadata: { topic: "site/a" } },
    ]);
  });

  test("an array of records is kept, each with metadata.topic merged into its own metadata", () => {
    const records = [
      { variable: "temperature", value: 21, metadata: { sensor: "t1" } },
      { variable: "humidity", value: 40, group: "g1", time: "2024-01-01T00:00:00Z" },
    ];
    assert.deepEqual(toParserInput("site/b", json(records)), [
      { variable: "temperature", value: 21, metadata: { sensor: "t1", topic: "site/b" } },
      { variable: "humidity", value: 40, group: "g1", time: "2024-01-01T00:00:00Z", metadata: { topic: "site/b" } },
    ]);
  });

  test("the topic the message arrived on wins over a topic in the record's metadata", () => {
    assert.deepEqual(toParserInput("real", json({ variable: "x", metadata: { topic: "claimed" } })), [{ variable: "x", metadata: { topic: "real" } }]);
  });

  test("metadata that is not an object is replaced", () => {
    assert.deepEqual(toParserInput("t", json({ variable: "x", value: 1, metadata: "oops" })), [{ variable: "x", value: 1, metadata: { topic: "t" } }]);
  });

  test("an empty array is an empty list of records", () => {
    assert.deepEqual(toParserInput("t", json([])), []);
  });

  test("JSON that is not in the data format becomes one payload record with the text", () => {
    for (const body of ['{"temp":21}', "[1,2,3]", '[{"variable":"x"},{"value":1}]', '{"variable":5}', '"text"', "42", "null"]) {
      assert.deepEqual(toParserInput("dev/1/up", Buffer.from(body)), [{ variable: "payload", value: body, metadata: { topic: "dev/1/up", mqtt_topic: "dev/1/up" } }], body);
    }
  });

  test("plain text and broken JSON become one payload record", () => {
    assert.deepEqual(toParserInput("a/b", Buffer.from("0a2b1388")), [{ variable: "payload", value: "0a2b1388", metadata: { topic: "a/b", mqtt_topic: "a/b" } }]);
    assert.deepEqual(toParserInput("a/b", Buffer.from('{"variable": "x"')), [{ variable: "payload", value: '{"variable": "x"', metadata: { topic: "a/b", mqtt_topic: "a/b" } }]);
    assert.deepEqual(toParserInput("a/b", Buffer.from("olá ☀")), [{ variable: "payload", value: "olá ☀", metadata: { topic: "a/b", mqtt_topic: "a/b" } }]);
  });

  test("an empty payload is an empty text value", () => {
    assert.deepEqual(toParserInput("a", Buffer.alloc(0)), [{ variable: "payload", value: "", metadata: { topic: "a", mqtt_topic: "a" } }]);
  });

  test("bytes that are not UTF-8 arrive as hex, marked so", () => {
    assert.deepEqual(toParserInput("bin", Buffer.from([0x0a, 0xff, 0xfe, 0x00, 0x80])), [
      { variable: "payload", value: "0afffe0080", metadata: { topic: "bin", mqtt_topic: "bin", encoding: "hex" } },
    ]);
  });

  test("leading whitespace before JSON is fine", () => {
    assert.deepEqual(toParserInput("t", Buffer.from('  \n{"variable":"x","value":true}')), [{ variable: "x", value: true, metadata: { topic: "t" } }]);
  });
});
