import { request as httpsRequest } from "node:https";
import type { TestSluice } from "./sluice.js";

export interface Answer {
  status: number;
  body: { status: boolean; result: any; message: string };
  /** The raw Set-Cookie header, if any. */
  setCookie: string | undefined;
  headers: Headers;
}

/** `sluice_session=VALUE` from a Set-Cookie header, as a Cookie header sends it. */
export function cookieOf(setCookie: string | undefined): string {
  const match = /^(sluice_session=[^;]*)/.exec(setCookie ?? "");
  if (!match) throw new Error(`no sluice_session cookie in ${setCookie}`);
  return match[1]!;
}

/**
 * A request to the API. `cookie`: a Cookie header; `csrf`: send X-Sluice-Csrf: 1 (the default
 * when a cookie is sent); `token`: a token header.
 */
export async function api(
  sluice: TestSluice, method: string, path: string,
  options: { body?: unknown; cookie?: string; csrf?: boolean; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.csrf ?? options.cookie !== undefined) headers["x-sluice-csrf"] = "1";
  if (options.token !== undefined) headers.token = options.token;
  const response = await fetch(`${sluice.api}${path}`, {
    method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"], setCookie: response.headers.get("set-cookie") ?? undefined, headers: response.headers };
}

/** Creates a user in the admin account (with the admin token). */
export async function createUser(sluice: TestSluice, user: { email: string; name?: string; password: string }, token = sluice.adminToken): Promise<{ id: string; email: string }> {
  const answer = await api(sluice, "POST", "/account/user", { token, body: { name: "User", ...user } });
  if (answer.status !== 200) throw new Error(`creating ${user.email}: ${answer.status} ${answer.body.message}`);
  return answer.body.result;
}

/** Signs in; throws unless it succeeds. Returns the Cookie header for the session. */
export async function signIn(sluice: TestSluice, email: string, password: string): Promise<string> {
  const answer = await api(sluice, "POST", "/account/login", { body: { email, password } });
  if (answer.status !== 200) throw new Error(`signing in ${email}: ${answer.status} ${answer.body.message}`);
  return cookieOf(answer.setCookie);
}

/** A request over the HTTPS port (the self-signed certificate accepted). */
export function httpsCall(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      { host: "127.0.0.1", port, method, path, rejectUnauthorized: false, agent: false, headers: { ...headers, ...(text !== undefined && { "content-type": "application/json" }) } },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode!, body: data === "" ? undefined : JSON.parse(data), headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}
