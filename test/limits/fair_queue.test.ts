import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FairQueue, QueueFull } from "../../src/limits/fair_queue.js";

// The scheduling rules the analysis run queue, webhook delivery and the mailer rely on.

/** Takes everything that may start now; returns "account:item" in start order. */
function drain<T>(q: FairQueue<T>): string[] {
  const started: string[] = [];
  for (let next = q.take(); next; next = q.take()) started.push(`${next.accountId}:${String(next.item)}`);
  return started;
}

describe("FairQueue", () => {
  test("accounts take turns for free slots; first in, first out within an account", () => {
    const q = new FairQueue<number>({ concurrency: 1, concurrencyPerAccount: 1 });
    for (let i = 1; i <= 4; i++) q.push("A", i);
    q.push("B", 1);
    q.push("C", 1);
    q.push("B", 2);
    const order: string[] = [];
    for (let next = q.take(); next; next = q.take()) {
      order.push(`${next.accountId}:${next.item}`);
      assert.equal(q.take(), undefined, "one slot: nothing more starts until it is finished");
      q.finish(next.accountId);
    }
    // A came first with four, yet B and C wait for one of A's, not all of them.
    assert.deepEqual(order, ["A:1", "B:1", "C:1", "A:2", "B:2", "A:3", "A:4"]);
  });

  test("an account holds at most its share of the slots; the rest stay free for the others", () => {
    const q = new FairQueue<number>({ concurrency: 4, concurrencyPerAccount: 2 });
    for (let i = 1; i <= 5; i++) q.push("A", i);
    assert.deepEqual(drain(q), ["A:1", "A:2"]);
    assert.equal(q.active, 2);
    assert.equal(q.waitingOf("A"), 3);
    assert.ok(q.canStart("B"));
    q.push("B", 1);
    assert.deepEqual(drain(q), ["B:1"]);
    q.finish("A");
    assert.deepEqual(drain(q), ["A:3"], "A's freed slot goes to A's next, in order");
  });

  test("waiting is bounded per account and in all, with the scope in the error; an item that starts at once is never refused", () => {
    const q = new FairQueue<number>({ concurrency: 2, concurrencyPerAccount: 1, maxWaiting: 3, maxWaitingPerAccount: 2 });
    q.push("A", 1);
    drain(q); // A:1 runs
    q.push("A", 2);
    q.push("A", 3);
    assert.throws(() => q.push("A", 4), (err: unknown) => err instanceof QueueFull && err.code === "QUEUE_FULL" && err.httpStatus === 429 && err.scope === "account" && err.bound === 2);
    q.push("B", 1); // starts at once: B has a slot
    assert.deepEqual(drain(q), ["B:1"]);
    q.push("B", 2); // waits (B at its share): the third waiting item
    assert.throws(() => q.push("C", 1), (err: unknown) => err instanceof QueueFull && err.scope === "all" && err.bound === 3, "no slot is free and the node's bound is reached");
    q.push("A", 5, { unbounded: true }); // a retry already admitted
    assert.equal(q.waiting, 4);
  });

  test("remove and clear forget waiting items; finish keeps the counts right", () => {
    const q = new FairQueue<string>({ concurrency: 1, concurrencyPerAccount: 1 });
    q.push("A", "x1");
    q.push("A", "y1");
    q.push("B", "x2");
    q.push("A", "x3");
    assert.deepEqual(drain(q), ["A:x1"]);
    // A was served, so B's turn comes first now.
    assert.deepEqual(q.remove((item) => item.startsWith("x")), ["x2", "x3"]);
    assert.deepEqual([...q.items()].map((e) => e.item), ["y1"]);
    assert.deepEqual(q.clear(), ["y1"]);
    assert.equal(q.waiting, 0);
    q.finish("A");
    q.finish("A"); // one finish too many is ignored: the count never goes below zero
    assert.equal(q.active, 0);
    q.push("A", "z");
    q.push("A", "w");
    assert.deepEqual(drain(q), ["A:z"]);
  });
});
