import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { SluiceError } from "../errors.js";
import type { OutboundGuard } from "../outbound/guard.js";

export interface FetchedPage {
  /** Where the document was found, after redirects. */
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
}

const MAX_REDIRECTS = 5;

/** The document of a `url` job could not be read (a refused address is OutboundRefused, 400). */
export class PageFetchFailed extends SluiceError {
  constructor(message: string) {
    super("PDF_SOURCE_FAILED", message, 502);
    this.name = "PageFetchFailed";
  }
}

/**
 * GETs the document of a `url` job for the browser, which never reaches the network itself
 * (pdf_service.ts). Every hop goes through the outbound guard: the address actually connected
 * to after DNS, a redirect's target as much as the first URL (`outbound.allowPrivateTargets`).
 * At most `maxBytes` of body are read; more fails the job.
 */
export async function fetchPage(guard: OutboundGuard, url: URL, options: { maxBytes: number; signal: AbortSignal }): Promise<FetchedPage> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const answer = await get(guard, target, options);
    if (answer.status >= 300 && answer.status < 400 && answer.location !== undefined) {
      if (hop === MAX_REDIRECTS) throw new PageFetchFailed(`${url.href} redirects more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(answer.location, target);
      } catch {
        throw new PageFetchFailed(`${target.href} redirects to something that is not a URL`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") throw new PageFetchFailed(`${target.href} redirects to a ${next.protocol} URL`);
      target = next;
      continue;
    }
    if (answer.status < 200 || answer.status >= 300) throw new PageFetchFailed(`${target.href} answered ${answer.status}`);
    return { url: target.href, status: answer.status, contentType: answer.contentType, body: answer.body };
  }
}

function get(guard: OutboundGuard, target: URL, options: { maxBytes: number; signal: AbortSignal }): Promise<{ status: number; location?: string; contentType: string; body: Buffer }> {
  const secure = target.protocol === "https:";
  const port = Number(target.port || (secure ? 443 : 80));
  const refused = guard.refusal(target.hostname, port);
  if (refused) return Promise.reject(refused);
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(target, {
      method: "GET",
      headers: { "user-agent": "Sluice-PDF", accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5" },
      lookup: guard.lookup(port),
      signal: options.signal,
      agent: false,
    }, (res) => {
      const status = res.statusCode ?? 0;
      const location = typeof res.headers.location === "string" ? res.headers.location : undefined;
      const contentType = res.headers["content-type"] ?? "text/html";
      if (status >= 300 && status < 400) {
        res.resume();
        resolve({ status, ...(location !== undefined && { location }), contentType, body: Buffer.alloc(0) });
        return;
      }
      const chunks: Buffer[] = [];
      let seen = 0;
      res.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > options.maxBytes) {
          res.destroy();
          reject(new SluiceError("PDF_TOO_LARGE", `${target.href} answered more than ${options.maxBytes} bytes (pdf.maxInputBytes)`, 413));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (err) => reject(wrap(target, err)));
      res.on("end", () => resolve({ status, contentType, body: Buffer.concat(chunks) }));
    });
    req.on("error", (err) => reject(wrap(target, err)));
    req.end();
  });
}

function wrap(target: URL, err: Error): Error {
  if (err instanceof SluiceError) return err; // a refusal by the guard, from its lookup
  if (err.name === "AbortError") return err;
  return new PageFetchFailed(`${target.href} could not be read: ${err.message}`);
}
