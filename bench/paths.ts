import { fileURLToPath } from "node:url";

/** Compiled to dist/bench/paths.js, so the repository root is two levels up. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
