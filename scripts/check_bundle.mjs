// Fails the build when the console's initial JavaScript (the entry chunk and every chunk it
// imports statically: what the first screen must download) exceeds its budget, gzipped.
// Pages load later (dynamic imports) and are reported, not counted.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 250 * 1024;
const dir = "dist/console";
const manifest = JSON.parse(readFileSync(join(dir, ".vite/manifest.json"), "utf8"));
const entries = Object.entries(manifest).filter(([, chunk]) => chunk.isEntry);
const initial = new Set();
const visit = (key) => {
  if (initial.has(key)) return;
  initial.add(key);
  for (const imported of manifest[key]?.imports ?? []) visit(imported);
};
for (const [key] of entries) visit(key);
const gz = (file) => gzipSync(readFileSync(join(dir, file)), { level: 9 }).length;
const total = [...initial].reduce((sum, key) => sum + gz(manifest[key].file), 0);
const largestLazy = Object.values(manifest).filter((c) => c.file.endsWith(".js") && ![...initial].some((k) => manifest[k] === c)).map((c) => ({ file: c.file, bytes: gz(c.file) })).sort((a, b) => b.bytes - a.bytes)[0];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`console: initial JavaScript ${kb(total)} gzip (budget ${kb(BUDGET)})${largestLazy ? `; largest page chunk ${largestLazy.file} ${kb(largestLazy.bytes)}` : ""}`);
if (total > BUDGET) {
  console.error(`console: initial JavaScript is over its budget by ${kb(total - BUDGET)}`);
  process.exit(1);
}
