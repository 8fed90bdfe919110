import { configFlags, loadConfig } from "../config/load.js";
import { startServer } from "../server.js";
import { parseArgs } from "./args.js";

/** `sluice start`: runs the server until SIGINT/SIGTERM, then shuts down cleanly. */
export async function runStart(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, ["allow-anonymous"]);
  if (positionals.length > 0) {
    console.error(`unexpected argument "${positionals[0]}"`);
    return 1;
  }
  for (const flag of Object.keys(flags)) {
    if (flag !== "config" && !configFlags.includes(flag)) {
      console.error(`unknown flag --${flag}; known: --config, ${configFlags.map((f) => `--${f}`).join(", ")}`);
      return 1;
    }
  }
  const configFile = typeof flags.config === "string" ? flags.config : undefined;
  const config = loadConfig({ configFile, flags });
  const server = await startServer(config);
  const shutdown = (signal: string) => {
    server.logger.info({ signal }, "shutting down");
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  return 0;
}
