/**
 * Query-string parser that understands the bracket notation the TagoIO SDK sends (it encodes
 * with `qs`): `fields[0]=id&filter[tags][0][key]=k` → `{ fields: ["id"], filter: { tags: [{ key: "k" }] } }`.
 * Node's `querystring` would leave those keys flat. Repeated keys (`a=1&a=2`) and `a[]=` become
 * arrays. Keys that could reach `Object.prototype` are dropped, and nesting is bounded, so a
 * hostile query string costs at most its own length.
 */
export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };

const MAX_DEPTH = 5;
const MAX_INDEX = 1000;
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

type Tree = { [key: string]: Tree | string | string[] };

export function parseQueryString(input: string): Record<string, QueryValue> {
  const root: Tree = {};
  for (const part of input.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = decode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? "" : decode(part.slice(eq + 1));
    const path = splitKey(rawKey);
    if (path && path.every((segment) => !FORBIDDEN.has(segment))) assign(root, path, value);
  }
  return finish(root) as Record<string, QueryValue>;
}

function decode(text: string): string {
  const spaced = text.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape is the client's typo, not a reason to reject the request.
    return spaced;
  }
}

/** `a[b][0]` → `["a", "b", "0"]`; `a[]` → `["a", ""]`; undefined when the key is malformed or too deep. */
function splitKey(key: string): string[] | undefined {
  const open = key.indexOf("[");
  if (open <= 0) return key === "" ? undefined : [key];
  const path = [key.slice(0, open)];
  const rest = key.slice(open);
  const segment = /\[([^[\]]*)\]/y;
  let match: RegExpExecArray | null;
  while (segment.lastIndex < rest.length && (match = segment.exec(rest)) !== null) path.push(match[1]!);
  if (segment.lastIndex !== rest.length) return [key];
  return path.length > MAX_DEPTH + 1 ? undefined : path;
}

function assign(tree: Tree, path: string[], value: string): void {
  let node = tree;
  for (let i = 0; i < path.length - 1; i++) {
    let segment = path[i]!;
    if (segment === "") segment = String(nextIndex(node));
    const child = node[segment];
    if (child === undefined || typeof child === "string" || Array.isArray(child)) node[segment] = {};
    node = node[segment] as Tree;
  }
  const last = path[path.length - 1]!;
  const key = last === "" ? String(nextIndex(node)) : last;
  const existing = node[key];
  if (existing === undefined || (typeof existing === "object" && !Array.isArray(existing))) node[key] = value;
  else node[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
}

function nextIndex(node: Tree): number {
  return Object.keys(node).filter((k) => /^\d+$/.test(k)).length;
}

/** Objects whose keys are all small indexes become arrays, in index order (holes closed, as qs does). */
function finish(node: Tree | string | string[]): QueryValue {
  if (typeof node === "string" || Array.isArray(node)) return node;
  const keys = Object.keys(node);
  const out: Record<string, QueryValue> = {};
  for (const key of keys) out[key] = finish(node[key]!);
  const isList = keys.length > 0 && keys.every((k) => /^\d+$/.test(k) && Number(k) <= MAX_INDEX);
  if (!isList) return out;
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => out[k]!);
}
