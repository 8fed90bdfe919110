// `sluice inspect ARGS...` for tests, until src/cli/main.ts dispatches `inspect` itself: the
// same argv (after the command name), exit code and error printing as main.ts.
import { runInspect } from "../../src/cli/inspect.js";
import { SluiceError } from "../../src/errors.js";

runInspect(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof SluiceError ? `error (${err.code}): ${err.message}` : err);
    process.exitCode = 1;
  },
);
