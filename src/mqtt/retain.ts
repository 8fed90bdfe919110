import { topicMatches } from "./topics.js";
import { messageBytes } from "./message_size.js";
import type { Message } from "./types.js";

/**
 * Approximate bytes one retained message holds: the message itself (`messageBytes`: topic,
 * payload, properties, the object), and a trie node (a Map entry and a node object) per topic
 * level. Levels shared with other topics are counted for each: an upper bound, which is what a
 * budget needs.
 */
export function retainedMessageBytes(message: Message): number {
  let levels = 1;
  for (let i = message.topic.indexOf("/"); i !== -1; i = message.topic.indexOf("/", i + 1)) levels++;
  return messageBytes(message) + levels * LEVEL_OVERHEAD;
}

/** Measured order of one trie level (node + Map + entry). */
const LEVEL_OVERHEAD = 200;

class RetainNode {
  children: Map<string, RetainNode> | undefined;
  message: Message | undefined;
}

/**
 * Retained messages of one namespace, in a trie over topic levels so that a wildcard
 * SUBSCRIBE visits only the branches its filter can reach.
 */
export class RetainedMessages {
  private readonly root = new RetainNode();
  private count = 0;
  private byteCount = 0;

  get size(): number {
    return this.count;
  }

  /** Approximate bytes held, `retainedMessageBytes` summed over the messages. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Stores `message`, or deletes the topic's retained message when the payload is empty (§3.3.1.3). */
  set(message: Message): void {
    const levels = message.topic.split("/");
    if (message.payload.length === 0) {
      this.delete(levels);
      return;
    }
    let node = this.root;
    for (const level of levels) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (!next) {
        next = new RetainNode();
        node.children.set(level, next);
      }
      node = next;
    }
    if (!node.message) this.count++;
    else this.byteCount -= retainedMessageBytes(node.message);
    node.message = message;
    this.byteCount += retainedMessageBytes(message);
  }

  get(topic: string): Message | undefined {
    let node: RetainNode | undefined = this.root;
    for (const level of topic.split("/")) {
      node = node.children?.get(level);
      if (!node) return undefined;
    }
    return node.message;
  }

  private delete(levels: string[]): void {
    const path = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1]!.children?.get(level);
      if (!next) return;
      path.push(next);
    }
    const gone = path[path.length - 1]!.message;
    if (!gone) return;
    path[path.length - 1]!.message = undefined;
    this.count--;
    this.byteCount -= retainedMessageBytes(gone);
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.message || n.children?.size) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
  }

  /** Retained messages whose topic `filter` matches, skipping (and dropping) expired ones. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    this.walk(this.root, filter.split("/"), out);
    return out.filter((m) => {
      if (m.expiresAt !== undefined && m.expiresAt <= now) {
        this.delete(m.topic.split("/"));
        return false;
      }
      return topicMatches(filter, m.topic);
    });
  }

  /**
   * Depth-first over the branches `levels` can reach, with an explicit stack: a retained topic
   * of 12 000 levels once overflowed the recursive version on every `#` SUBSCRIBE, and, being
   * stored, did so again after each restart. Children are pushed in reverse to keep the order
   * of a recursive walk (insertion order per level).
   */
  private walk(root: RetainNode, levels: string[], out: Message[]): void {
    const stack: { node: RetainNode; i: number }[] = [{ node: root, i: 0 }];
    while (stack.length > 0) {
      const { node, i } = stack.pop()!;
      if (i === levels.length) {
        if (node.message) out.push(node.message);
        continue;
      }
      const level = levels[i]!;
      if (level === "#") {
        this.all(node, out);
        continue;
      }
      if (!node.children) continue;
      if (level === "+") {
        const children = [...node.children.values()];
        for (let c = children.length - 1; c >= 0; c--) stack.push({ node: children[c]!, i: i + 1 });
      } else {
        const child = node.children.get(level);
        if (child) stack.push({ node: child, i: i + 1 });
      }
    }
  }

  /** Every message under `root`, parents before children, without recursion. */
  private all(root: RetainNode, out: Message[]): void {
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.message) out.push(node.message);
      if (node.children) {
        const children = [...node.children.values()];
        for (let c = children.length - 1; c >= 0; c--) stack.push(children[c]!);
      }
    }
  }

  *entries(): Generator<Message> {
    const stack = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.message) yield n.message;
      // Not `stack.push(...children)`: spreading a huge level into arguments overflows too.
      if (n.children) for (const child of n.children.values()) stack.push(child);
    }
  }
}
