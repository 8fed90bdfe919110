// A minimal client for the parts of Sluice's HTTP API (TagoIO-compatible envelopes) that the
// ingest scenario uses to set an account up and to read back what was stored.

interface Envelope {
  status?: unknown;
  result?: unknown;
  message?: unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

export interface CreatedDevice {
  id: string;
  token: string;
}

export class SluiceApi {
  private readonly base: string;

  constructor(
    host: string,
    port: number,
    private readonly adminToken: string,
  ) {
    this.base = `http://${host}:${port}`;
  }

  /** `token` defaults to the admin account's; pass a device token for the device routes. */
  async request<T>(method: string, path: string, body?: unknown, token = this.adminToken): Promise<T> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { token, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      throw new Error(`${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok || envelope.status !== true) {
      const reason = typeof envelope.message === "string" ? envelope.message : text.slice(0, 200);
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${reason}`);
    }
    return envelope.result as T;
  }

  async createDevice(body: Record<string, unknown>): Promise<CreatedDevice> {
    const result = await this.request<{ device_id?: unknown; token?: unknown }>("POST", "/device", body);
    if (typeof result.device_id !== "string" || typeof result.token !== "string") {
      throw new Error(`POST /device: unexpected result ${JSON.stringify(result)}`);
    }
    return { id: result.device_id, token: result.token };
  }

  editDevice(id: string, patch: Record<string, unknown>): Promise<unknown> {
    return this.request("PUT", `/device/${encodeURIComponent(id)}`, patch);
  }

  async createAction(body: Record<string, unknown>): Promise<string> {
    const result = await this.request<{ action?: unknown }>("POST", "/action", body);
    if (typeof result.action !== "string") throw new Error(`POST /action: unexpected result ${JSON.stringify(result)}`);
    return result.action;
  }

  deleteAction(id: string): Promise<unknown> {
    return this.request("DELETE", `/action/${encodeURIComponent(id)}`);
  }

  /** Every record in a device's bucket (`GET /device/:id/data_amount`, admin token). */
  async dataAmount(deviceId: string): Promise<number> {
    return Number(await this.request("GET", `/device/${encodeURIComponent(deviceId)}/data_amount`));
  }

  /** Records of one variable, as the device itself counts them (`GET /data?...&query=count`). */
  async countVariable(deviceToken: string, variable: string): Promise<number> {
    const query = `variables[0]=${encodeURIComponent(variable)}&query=count`;
    const result = await this.request<unknown>("GET", `/data?${query}`, undefined, deviceToken);
    // A bare number, as Sluice answers; TagoIO's SDK shape `[{ value }]` is accepted too.
    if (typeof result === "number") return result;
    if (Array.isArray(result) && result.length === 0) return 0;
    const value = Array.isArray(result) ? (result[0] as { value?: unknown } | undefined)?.value : undefined;
    if (typeof value === "number") return value;
    throw new Error(`GET /data count: unexpected result ${JSON.stringify(result)}`);
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
