// Fails the build when a page's initial JavaScript (its entry chunk and every chunk it imports
// statically: what its first screen must download) exceeds its budget, gzipped. Two pages:
// the console (`index.html`, whose pages load later through dynamic imports, reported, not
// counted) and the public share view (`share.html`, which draws every widget type at once).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGETS = { "index.html": 250 * 1024, "share.html": 300 * 1024 };
const dir = "dist/console";
const manifest = JSON.parse(readFileSync(join(dir, ".vite/manifest.json"), "utf8"));
const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
const gz = (file) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const unknown = entries.map(([key]) => key).filter((key) => !(key in BUDGETS));
if (unknown.length > 0) {
  console.error(`console: entries without a budget: ${unknown.join(", ")} (add them to scripts/check_bundle.mjs)`);
  process.exit(1);
}
const everyInitial = new Set();
let over = false;
for (const [entry, budget] of Object.entries(BUDGETS)) {
  if (!manifest[entry]) {
    console.error(`console: the build has no ${entry}`);
    process.exit(1);
  }
  const initial = new Set();
  const visit = (key) => {
    if (initial.has(key)) return;
    initial.add(key);
    for (const imported of manifest[key]?.imports ?? []) visit(imported);
  };
  visit(entry);
  for (const key of initial) everyInitial.add(key);
  const total = [...initial].reduce((sum, key) => sum + gz(manifest[key].file), 0);
  console.log(`console: ${entry} initial JavaScript ${kb(total)} gzip (budget ${kb(budget)})`);
  if (total > budget) {
    console.error(`console: ${entry}'s initial JavaScript is over its budget by ${kb(total - budget)}`);
    over = true;
  }
}
const largestLazy = Object.values(manifest)
  .filter((c) => c.file.endsWith(".js") && ![...everyInitial].some((k) => manifest[k] === c))
  .map((c) => ({ file: c.file, bytes: gz(c.file) }))
  .sort((a, b) => b.bytes - a.bytes)[0];
if (largestLazy) console.log(`console: largest page chunk ${largestLazy.file} ${kb(largestLazy.bytes)}`);
if (over) process.exit(1);
