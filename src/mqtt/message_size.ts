import type { Message } from "./types.js";

/**
 * Approximate bytes one message holds in memory: its topic, payload and MQTT 5 properties
 * (user properties' keys and values, correlation data, response topic, content type...) and
 * the message object. Strings count two bytes a character (an upper bound: V8 may keep them in
 * one), buffers their length. Computed once per message (the first time it is asked) and kept
 * on it, so a message queued for 2 000 sessions is measured once, and every byte bound
 * (session queues online and offline, restored sessions, retained messages) counts the same.
 */
export function messageBytes(message: Message): number {
  let n = message.size;
  if (n === undefined) {
    n = MESSAGE_OVERHEAD + message.topic.length * 2 + message.payload.length + propertiesBytes(message.properties);
    message.size = n;
  }
  return n;
}

/** Measured order of a `Message` object (Node 20). */
const MESSAGE_OVERHEAD = 160;

/** Strings count two bytes a character, buffers their length, anything else a few bytes. */
function propertiesBytes(properties: Message["properties"]): number {
  if (!properties) return 0;
  let n = 64;
  const add = (v: unknown): void => {
    if (typeof v === "string") n += 16 + v.length * 2;
    else if (Buffer.isBuffer(v)) n += 32 + v.length;
    else if (Array.isArray(v)) for (const item of v) add(item);
    else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) {
        add(k);
        add(item);
      }
    } else n += 8;
  };
  add(properties);
  return n;
}

/** What one queued or in-flight copy counts: the message (shared, measured once) and its own subscription ids. */
export function deliveryBytes(message: Message, subscriptionIds: readonly number[] | undefined): number {
  return messageBytes(message) + (subscriptionIds ? 16 + subscriptionIds.length * 8 : 0);
}
