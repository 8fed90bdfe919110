/**
 * `*` wildcards of list filters ("*sensor*"), case-insensitive, in time linear in pattern plus
 * text. A backtracking matcher (a RegExp, or a greedy matcher with one backtrack point) costs
 * pattern × text, and item text has no length bound of its own: one list over a few devices
 * named with a megabyte each held the event loop for 43 s.
 *
 * Between stars a pattern is a list of literal segments. The text must start with the first,
 * end with the last, and hold the middle ones in order in between; taking each middle segment
 * at its leftmost place never loses a match, so no position is ever revisited. Each segment is
 * found with Knuth–Morris–Pratt, which reads each text character once.
 */
export function wildcardMatch(pattern: string, text: string, stats?: { steps: number }): boolean {
  const segments = pattern.toLowerCase().split("*");
  const t = text.toLowerCase();
  const first = segments[0]!;
  if (segments.length === 1) return t === first;
  const last = segments[segments.length - 1]!;
  if (first.length + last.length > t.length || !t.startsWith(first) || !t.endsWith(last)) return false;
  let from = first.length;
  const end = t.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (segment === "") continue;
    const at = indexOfLinear(t, segment, from, end, stats);
    if (at < 0) return false;
    from = at + segment.length;
  }
  return true;
}

/** First index ≥ `from` where `needle` lies wholly before `end`, or -1; KMP, so at most 2 × (end − from) + needle steps. */
function indexOfLinear(text: string, needle: string, from: number, end: number, stats?: { steps: number }): number {
  const fail = new Int32Array(needle.length);
  let steps = 0;
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) {
      k = fail[k - 1]!;
      steps++;
    }
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
    steps++;
  }
  let found = -1;
  for (let i = from, k = 0; i < end; i++) {
    while (k > 0 && text[i] !== needle[k]) {
      k = fail[k - 1]!;
      steps++;
    }
    if (text[i] === needle[k]) k++;
    steps++;
    if (k === needle.length) {
      found = i - needle.length + 1;
      break;
    }
  }
  if (stats) stats.steps += steps;
  return found;
}
