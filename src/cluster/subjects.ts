import { createHash } from "node:crypto";

/**
 * MQTT topics and filters as NATS subjects (docs/cluster.md, "Routing over NATS").
 *
 * A topic `a/b` of namespace `ns` travels on `sluice.m.<ns>.t.a.b`. Each MQTT level becomes one
 * NATS token, escaped so that any valid MQTT topic survives: NATS tokens cannot be empty, hold
 * `.` or whitespace, and `*` / `>` are wildcards, while MQTT levels may be any of these. Only
 * `[A-Za-z0-9_-]` pass as they are; every other UTF-8 byte is written `=HH` (upper-case hex),
 * and an empty level is the token `=` alone, which no escaped level can be. `=` is in the
 * character set of JetStream KV keys too.
 *
 * MQTT keeps topics starting with `$` away from wildcards at the first level (§4.7.2); NATS has
 * no such rule, so those topics go under `d` rather than `t`, and a filter starting with a
 * wildcard is only ever subscribed under `t`.
 *
 * A subject longer than `MAX_SUBJECT_BYTES` would not pass NATS's protocol line limit
 * (`max_control_line`, 4 KiB by default): such a topic goes on its namespace's overflow subject
 * instead, which every node with any interest in the namespace also subscribes; the receiving
 * node's own subscription tree then does the matching. A filter too long to map is subscribed as
 * the whole namespace. Both only widen what a node receives, never narrow it.
 */

export const SUBJECT_PREFIX = "sluice";

/** Bytes a subject may take, with room left on the protocol line for the rest (`PUB <subject> <reply> <size>`). */
export const MAX_SUBJECT_BYTES = 3072;

const SAFE_LEVEL = /^[A-Za-z0-9_-]+$/;
/** The fast path: a topic whose levels are all safe and non-empty maps by replacing `/` with `.`. */
const SAFE_TOPIC = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;
const HEX = "0123456789ABCDEF";

/** One MQTT level (or a namespace) as one NATS token. */
export function escapeLevel(level: string): string {
  if (level.length === 0) return "=";
  if (SAFE_LEVEL.test(level)) return level;
  let out = "";
  for (const byte of Buffer.from(level, "utf8")) {
    const safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte === 0x2d;
    out += safe ? String.fromCharCode(byte) : `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** The level a token stands for; undefined for a token `escapeLevel` cannot have made. */
export function unescapeLevel(token: string): string | undefined {
  if (token === "=") return "";
  if (token.length === 0) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x3d) {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      const byte = parseInt(hex, 16);
      bytes.push(byte);
      i += 2;
    } else if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d) {
      bytes.push(c);
    } else return undefined;
  }
  const level = Buffer.from(bytes).toString("utf8");
  // One spelling per level: a token with a needless escape (`=41` for `A`) or bad UTF-8 is not ours.
  return escapeLevel(level) === token ? level : undefined;
}

function namespacePrefix(namespace: string): string {
  return `${SUBJECT_PREFIX}.m.${escapeLevel(namespace)}`;
}

/** The subject every node with interest in `namespace` also hears: topics too long for their own subject. */
export function overflowSubject(namespace: string): string {
  return `${SUBJECT_PREFIX}.o.${escapeLevel(namespace)}`;
}

/** Every message subject of a namespace (what an unmappable filter subscribes). */
export function namespaceWildcard(namespace: string): string {
  return `${namespacePrefix(namespace)}.>`;
}

/** The subject a message on `topic` is published on, or undefined when it must take the overflow subject. */
export function topicSubject(namespace: string, topic: string): string | undefined {
  const kind = topic.charCodeAt(0) === 0x24 /* $ */ ? "d" : "t";
  const body = SAFE_TOPIC.test(topic) ? topic.replaceAll("/", ".") : topic.split("/").map(escapeLevel).join(".");
  const subject = `${namespacePrefix(namespace)}.${kind}.${body}`;
  return Buffer.byteLength(subject) > MAX_SUBJECT_BYTES ? undefined : subject;
}

/** The topic a subject stands for, or undefined when it is not a message subject of `namespace`. */
export function subjectTopic(namespace: string, subject: string): string | undefined {
  const prefix = `${namespacePrefix(namespace)}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const rest = subject.slice(prefix.length);
  const kind = rest.slice(0, 2);
  if (kind !== "t." && kind !== "d.") return undefined;
  const levels: string[] = [];
  for (const token of rest.slice(2).split(".")) {
    const level = unescapeLevel(token);
    if (level === undefined) return undefined;
    levels.push(level);
  }
  const topic = levels.join("/");
  if ((kind === "d.") !== topic.startsWith("$")) return undefined;
  return topic;
}

/**
 * The subjects a node subscribes for one MQTT filter (without `$share/`): `+` is `*`, a final
 * `#` is `>` plus the subject of its parent level (MQTT `a/#` matches `a` too, NATS `a.>` does
 * not). A filter too long to map gives the namespace's wildcard.
 */
export function filterSubjects(namespace: string, filter: string): string[] {
  const levels = filter.split("/");
  const first = levels[0]!;
  const kind = first.startsWith("$") ? "d" : "t";
  const head = `${namespacePrefix(namespace)}.${kind}`;
  const tokens = levels.map((level) => (level === "+" ? "*" : level === "#" ? ">" : escapeLevel(level)));
  const subjects = [`${head}.${tokens.join(".")}`];
  if (levels.length > 1 && levels[levels.length - 1] === "#") subjects.push(`${head}.${tokens.slice(0, -1).join(".")}`);
  if (subjects.some((s) => Buffer.byteLength(s) > MAX_SUBJECT_BYTES)) return [namespaceWildcard(namespace)];
  return subjects;
}

/** NATS's own matching of a subject against a subscription subject (`*` one token, `>` one or more at the end). */
export function natsSubjectMatches(subscription: string, subject: string): boolean {
  const s = subscription.split(".");
  const t = subject.split(".");
  for (let i = 0; i < s.length; i++) {
    const token = s[i];
    if (token === ">") return i === s.length - 1 && t.length > i;
    if (i >= t.length) return false;
    if (token !== "*" && token !== t[i]) return false;
  }
  return s.length === t.length;
}

/**
 * The NATS queue group for one `$share/{group}/{filter}` of a namespace: the same on every node,
 * so NATS hands each message to one member node of the group. Hashed: a group and filter may hold
 * any character and be long, a queue name may not.
 */
export function queueName(namespace: string, group: string, filter: string): string {
  return `sq_${createHash("sha256").update(`${namespace}\u0000${group}\u0000${filter}`).digest("base64url").slice(0, 32)}`;
}

/** The subject a namespace's connect notices travel on (src/cluster/connect_notice.ts). */
export function connectSubject(namespace: string): string {
  return `${SUBJECT_PREFIX}.c.${escapeLevel(namespace)}.connect`;
}

/** What every node subscribes for the connect notices of all namespaces. */
export const CONNECT_WILDCARD = `${SUBJECT_PREFIX}.c.*.connect`;
