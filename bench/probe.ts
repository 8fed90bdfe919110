// "Does the broker still answer?" — a fresh client's CONNECT/CONNACK and PINGREQ/PINGRESP,
// timed. Used during and after overload, and while thousands of idle connections are held.
import { performance } from "node:perf_hooks";
import { LoadClient } from "./load/client.js";

export interface ProbeResult {
  ok: boolean;
  connackMs: number | null;
  pingMs: number | null;
  error: string | null;
}

let probes = 0;

export async function probe(host: string, port: number, timeoutMs = 5000): Promise<ProbeResult> {
  const started = performance.now();
  let connackMs: number | null = null;
  let client: LoadClient | null = null;
  try {
    client = await LoadClient.open({ host, port, clientId: `bench-probe-${process.pid}-${probes++}`, timeoutMs });
    connackMs = performance.now() - started;
    const pingStarted = performance.now();
    await client.ping();
    const pingMs = performance.now() - pingStarted;
    client.disconnect();
    return { ok: true, connackMs, pingMs, error: null };
  } catch (err) {
    client?.destroy();
    return { ok: false, connackMs, pingMs: null, error: err instanceof Error ? err.message : String(err) };
  }
}
