import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// The console is built into dist/console, beside the compiled server, which serves it at `/`.
// Everything is bundled: no font, icon or script is fetched from another host.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 600,
    // Two pages: the console (`/`) and the public share view of a dashboard (`/view`), each
    // served with its own Content-Security-Policy (src/http/console.ts).
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL("index.html", import.meta.url)),
        share: fileURLToPath(new URL("share.html", import.meta.url)),
      },
    },
  },
  logLevel: "warn",
});
