/** Generated MQTT topics and filters with the levels NATS cannot take as they are (test/cluster). */

/** Levels MQTT allows and NATS does not take as they are, mixed with ordinary ones. */
export const ODD_LEVELS = ["", "a", "b", "A9_-", ".", "..", "*", ">", "a*", ">b", " ", "a b", "\t", "é", "日本", "😀", "$SYS", "$x", "$", "=", "=41", "~", "%2F", "a.b", "\u00a0", "\u2028", "x=y"];

/** A small seeded generator (mulberry32): the same cases on every run, so a failure repeats. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateTopic(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 4);
  const levels: string[] = [];
  for (let i = 0; i < n; i++) levels.push(ODD_LEVELS[Math.floor(rnd() * ODD_LEVELS.length)]!);
  const topic = levels.join("/");
  return topic.length === 0 ? "/" : topic;
}

/** A filter made from a topic (so it often matches): some levels become `+`, the tail may become `#`. */
export function generateFilter(rnd: () => number, from: string): string {
  const levels = from.split("/").map((l) => (rnd() < 0.3 ? "+" : l));
  if (rnd() < 0.3) {
    const cut = Math.floor(rnd() * (levels.length + 1));
    return [...levels.slice(0, cut), "#"].join("/");
  }
  if (rnd() < 0.2) levels.push(rnd() < 0.5 ? "+" : ODD_LEVELS[Math.floor(rnd() * ODD_LEVELS.length)]!);
  return levels.join("/");
}
