import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonNestedDeeperThan, MAX_NESTING, parserInputJson } from "../../src/sandbox/nesting.js";
import { ParserError } from "../../src/sandbox/types.js";

// Review of issue 11: a parser's input and output are bounded in nesting (sandbox/nesting.ts),
// so JSON.stringify on the host never runs out of stack on them.

test("nesting is counted over arrays and objects, not brackets inside strings", () => {
  assert.equal(jsonNestedDeeperThan(JSON.stringify([{ a: [1] }]), 3), false);
  assert.equal(jsonNestedDeeperThan(JSON.stringify([{ a: [[1]] }]), 3), true);
  assert.equal(jsonNestedDeeperThan(JSON.stringify([{ variable: "[[[[{{{{", value: "\\\"[[[[" }]), 2), false);
  assert.equal(jsonNestedDeeperThan("[]".repeat(1000), 1), false);
});

test("an input nested past MAX_NESTING, or past the stack, is invalid_input; one at it is serialized", () => {
  const nest = (levels: number) => {
    let value: unknown = [];
    for (let i = 1; i < levels; i++) value = [value];
    return value;
  };
  assert.equal(parserInputJson(nest(MAX_NESTING)), "[".repeat(MAX_NESTING) + "]".repeat(MAX_NESTING));
  for (const levels of [MAX_NESTING + 1, 200_000]) {
    assert.throws(() => parserInputJson(nest(levels)), (err: unknown) => err instanceof ParserError && err.kind === "invalid_input");
  }
});
