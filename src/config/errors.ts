import { SluiceError } from "../errors.js";

/** A configuration Sluice cannot start with; `sluice start` prints it as one line and exits 1. */
export class ConfigError extends SluiceError {
  constructor(message: string) {
    super("CONFIG_INVALID", message);
    this.name = "ConfigError";
  }
}
