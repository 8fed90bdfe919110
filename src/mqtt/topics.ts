/**
 * Topic names and filters (MQTT 5.0 §4.7, 3.1.1 §4.7): validation, matching, shared
 * subscription syntax.
 */

/** Characters a topic must not hold: NUL (§1.5.4), and U+FFFD, which is what a bad UTF-8 sequence decodes to. */
function hasForbiddenCharacters(s: string): boolean {
  return s.includes("\u0000") || s.includes("\uFFFD");
}

/** Over the 65535-byte limit of a UTF-8 string (§1.5.4); a UTF-16 unit is at most 3 bytes, so short strings skip the count. */
function tooLong(s: string): boolean {
  return s.length > 21845 && Buffer.byteLength(s, "utf8") > 65535;
}

export function isValidUtf8String(s: string): boolean {
  return !hasForbiddenCharacters(s);
}

/** A PUBLISH topic: non-empty, no wildcards, valid UTF-8, at most 65535 bytes. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0 || tooLong(topic)) return false;
  if (topic.includes("+") || topic.includes("#")) return false;
  return !hasForbiddenCharacters(topic);
}

/** A SUBSCRIBE filter: `#` only as the whole last level, `+` only as a whole level. */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || tooLong(filter) || hasForbiddenCharacters(filter)) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return false;
    if (level.includes("+") && level !== "+") return false;
  }
  return true;
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/**
 * `$share/{group}/{filter}`: returns the parts, `null` for a plain filter, or `"invalid"`
 * when the `$share/` prefix is there but malformed.
 */
export function parseSharedFilter(filter: string): SharedFilter | null | "invalid" {
  if (!filter.startsWith("$share/")) return null;
  const rest = filter.slice(7);
  const slash = rest.indexOf("/");
  if (slash <= 0) return "invalid";
  const group = rest.slice(0, slash);
  const inner = rest.slice(slash + 1);
  if (group.includes("+") || group.includes("#") || !isValidTopicFilter(inner)) return "invalid";
  return { group, filter: inner };
}

/** Whether `filter` matches `topic`, `$`-topics excepted from leading wildcards (§4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * How many levels a topic or filter has (`a/b` → 2), counted without splitting: it is asked
 * of every PUBLISH and SUBSCRIBE, and a split of a 60 KiB topic into 30 000 strings would be
 * the very cost the bound (`maxTopicLevels`) is there to refuse.
 */
export function topicLevels(s: string): number {
  let n = 1;
  for (let i = s.indexOf("/"); i !== -1; i = s.indexOf("/", i + 1)) n++;
  return n;
}
