import assert from "node:assert/strict";
import { test } from "node:test";
import { FairReads } from "../../src/data/fair_reads.js";
import { LimitExceeded } from "../../src/limits/errors.js";

// Record reads take turns between accounts, and one account's waiting reads are bounded.

function gate(): { open: () => void; wait: Promise<void> } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { open, wait };
}

test("a greedy account waits behind its own reads: another account's read starts at the next free slot, and its reads past the waiting bound get 429", async () => {
  const reads = new FairReads({ concurrency: 2, perAccount: 2, waitingPerAccount: 3 });
  const started: string[] = [];
  const held = [gate(), gate()];
  const greedy = held.map((g, i) => reads.run("greedy", async () => { started.push(`greedy${i}`); await g.wait; }));
  const waiting = [0, 1, 2].map((i) => reads.run("greedy", async () => { started.push(`waiting${i}`); }));
  await assert.rejects(reads.run("greedy", async () => undefined), (err: unknown) => err instanceof LimitExceeded && err.httpStatus === 429);
  const bystander = reads.run("bystander", async () => { started.push("bystander"); });
  held[0]!.open();
  await bystander;
  // Turns go round the accounts: the bystander starts after at most one more greedy read, ahead
  // of the rest the greedy account has waiting (without turns it would start after all three).
  assert.ok(started.indexOf("bystander") < started.indexOf("waiting1") || !started.includes("waiting1"), started.join(", "));
  assert.ok(started.indexOf("bystander") <= 3, started.join(", "));
  held[1]!.open();
  await Promise.all([...greedy, ...waiting]);
  assert.equal(started.length, 6);
});

test("a failing read frees its slot", async () => {
  const reads = new FairReads({ concurrency: 1, perAccount: 1, waitingPerAccount: 1 });
  await assert.rejects(reads.run("a", async () => { throw new Error("store down"); }), /store down/);
  assert.equal(await reads.run("a", async () => 7), 7);
});
