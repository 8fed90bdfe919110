// Runs every compiled test file with Node's test runner. Node 20's --test takes no globs,
// so the file list is built here. Pass a substring to run only matching files.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(".test.js") ? [path] : [];
  });
}

const filter = process.argv[2];
const files = walk("dist/test").filter((f) => !filter || f.includes(filter)).sort();
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
