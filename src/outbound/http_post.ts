import { request as httpRequest, Agent as HttpAgent } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { OutboundGuard } from "./guard.js";

export interface PostResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * POSTs through an OutboundGuard: node:http rather than fetch, because fetch (undici) takes no
 * `lookup` and Node ships no undici Agent to give it one. Redirects are not followed (a POST
 * redirected elsewhere would be another request to another target, and a hop the guard did
 * not see); the response body is read and dropped.
 */
export class GuardedPoster {
  // Own agents: sockets kept alive were connected through the guard, and no other code's pool is shared.
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  constructor(private readonly guard: OutboundGuard) {}

  post(url: string, options: { headers: Record<string, string>; body: string; signal: AbortSignal }): Promise<PostResponse> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    if (!secure && target.protocol !== "http:") return Promise.reject(new Error(`${target.protocol} is not http or https`));
    const port = Number(target.port || (secure ? 443 : 80));
    const refused = this.guard.refusal(target.hostname, port);
    if (refused) return Promise.reject(refused);
    const body = Buffer.from(options.body);
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method: "POST",
        headers: { ...options.headers, "content-length": String(body.length) },
        agent: secure ? this.https : this.http,
        lookup: this.guard.lookup(port),
        signal: options.signal,
      }, (res) => {
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers }));
        res.resume();
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
