import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SluiceError } from "../errors.js";

/** Where the device/token commands send their requests, and as whom. */
export interface ServerTarget {
  url: string;
  token: string;
}

export interface TargetOptions {
  url?: string;
  token?: string;
  /** Defaults to ./data, the data dir `sluice start` uses by default. */
  dataDir?: string;
}

/**
 * Fills in what the user did not pass from the local server's data dir: `ports.json` (written
 * by `sluice start`) gives the HTTP port, `admin-token` the bootstrap account token. So on the
 * machine running Sluice the commands work with no flags at all.
 */
export async function resolveServerTarget(options: TargetOptions): Promise<ServerTarget> {
  const dataDir = options.dataDir ?? "./data";
  const url = options.url ?? `http://127.0.0.1:${await httpPort(dataDir)}`;
  const token = options.token ?? (await adminToken(dataDir));
  return { url: url.replace(/\/+$/, ""), token };
}

async function httpPort(dataDir: string): Promise<number> {
  const path = join(dataDir, "ports.json");
  const text = await readLocal(path, "--url");
  let port: unknown;
  try {
    port = (JSON.parse(text) as { http?: unknown }).http;
  } catch {
    throw new SluiceError("NO_SERVER", `${path} is not valid JSON; pass --url`);
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SluiceError("NO_SERVER", `${path} has no valid "http" port; pass --url`);
  }
  return port;
}

async function adminToken(dataDir: string): Promise<string> {
  const path = join(dataDir, "admin-token");
  const token = (await readLocal(path, "--token")).trim();
  if (token === "") throw new SluiceError("NO_TOKEN", `${path} is empty; pass --token`);
  return token;
}

async function readLocal(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new SluiceError(
      flag === "--url" ? "NO_SERVER" : "NO_TOKEN",
      `${path} ${reason}: run this on the host where \`sluice start\` runs (or pick its --data-dir), or pass ${flag}`,
    );
  }
}
