import sdk from "@tago-io/sdk";
import { setTimeout as delay } from "node:timers/promises";
import type { TestSluice } from "./sluice.js";

const { Resources } = sdk;
export type SdkResources = InstanceType<typeof Resources>;

/** The official SDK pointed at a test Sluice, as `token` (the admin by default). */
export function resourcesOf(sluice: TestSluice, token = sluice.adminToken): SdkResources {
  const api = sluice.api;
  return new Resources({ token, region: { api, sse: `${api}/events` } });
}

/** Creates an analysis through the SDK and uploads `code` as its script. */
export async function createAnalysis(
  resources: SdkResources,
  code: string,
  options: { name?: string; fileName?: string; variables?: { key: string; value: string }[]; run_on?: "tago" | "external" } = {},
): Promise<{ id: string; token: string }> {
  const created = await resources.analysis.create({
    name: options.name ?? "test analysis",
    run_on: options.run_on ?? "tago",
    ...(options.variables && { variables: options.variables as never }),
  });
  await resources.analysis.uploadScript(created.id, { name: options.fileName ?? "analysis.js", content: Buffer.from(code).toString("base64"), language: "node" });
  return created;
}

/** Raw JSON call to a test Sluice; returns status and the envelope. */
export async function call(sluice: TestSluice, method: string, path: string, body?: unknown, token = sluice.adminToken) {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as { status: boolean; result: any; message: string } };
}

export interface ConsoleLine {
  timestamp: string;
  message: string;
}

export async function consoleOf(sluice: TestSluice, id: string): Promise<ConsoleLine[]> {
  const { status, body } = await call(sluice, "GET", `/analysis/${id}/logs`);
  if (status !== 200) throw new Error(`logs: ${status} ${body.message}`);
  return body.result as ConsoleLine[];
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = "the condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

/** Waits until the console holds a line matching `pattern`; returns the console. */
export function consoleLine(sluice: TestSluice, id: string, pattern: RegExp, timeoutMs = 15_000): Promise<ConsoleLine[]> {
  return waitFor(async () => {
    const lines = await consoleOf(sluice, id);
    return lines.some((l) => pattern.test(l.message)) ? lines : undefined;
  }, timeoutMs, `a console line matching ${pattern}`);
}
