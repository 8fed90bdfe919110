import { topicMatches } from "./topics.js";
import type { Message } from "./types.js";

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

  get size(): number {
    return this.count;
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
    node.message = message;
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
    if (!path[path.length - 1]!.message) return;
    path[path.length - 1]!.message = undefined;
    this.count--;
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.message || n.children?.size) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
  }

  /** Retained messages whose topic `filter` matches, skipping (and dropping) expired ones. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    this.walk(this.root, filter.split("/"), 0, out);
    return out.filter((m) => {
      if (m.expiresAt !== undefined && m.expiresAt <= now) {
        this.delete(m.topic.split("/"));
        return false;
      }
      return topicMatches(filter, m.topic);
    });
  }

  private walk(node: RetainNode, levels: string[], i: number, out: Message[]): void {
    if (i === levels.length) {
      if (node.message) out.push(node.message);
      return;
    }
    const level = levels[i]!;
    if (level === "#") {
      this.all(node, out);
      return;
    }
    if (!node.children) return;
    if (level === "+") for (const child of node.children.values()) this.walk(child, levels, i + 1, out);
    else {
      const child = node.children.get(level);
      if (child) this.walk(child, levels, i + 1, out);
    }
  }

  private all(node: RetainNode, out: Message[]): void {
    if (node.message) out.push(node.message);
    if (node.children) for (const child of node.children.values()) this.all(child, out);
  }

  *entries(): Generator<Message> {
    const stack = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.message) yield n.message;
      if (n.children) stack.push(...n.children.values());
    }
  }
}
