import assert from "node:assert/strict";
import type { TestSluice } from "./sluice.js";

/**
 * The HTTP API called as the admin account: answers the envelope's `result`, and fails the
 * test with the API's own message on an error envelope. `sluice` is read at each call, so a
 * suite can make this before its `before` hook has started the server.
 */
export function adminApi(sluice: () => TestSluice) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const s = sluice();
    const response = await fetch(`${s.api}${path}`, {
      method,
      headers: { token: s.adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as { status: boolean; result: T; message?: string };
    assert.ok(json.status, `${method} ${path}: ${json.message}`);
    return json.result;
  };
}
