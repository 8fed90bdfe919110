import type { FastifyInstance } from "fastify";
import { SluiceError } from "../errors.js";

/** Answers below this are not counted: the budget is for pages, not for every small reply. */
const COUNTED_FROM_BYTES = 64 * 1024;

/**
 * Bounds the bytes of answers being sent, all connections together. A large answer (a page of
 * `GET /data`) sits in memory until its client has read it; clients that read slowly, or not at
 * all until the idle timeout cuts them, could otherwise pin gigabytes between them. Past the
 * budget a large answer is refused with 503 and the client may retry; small ones always go.
 */
export function installResponseBudget(app: FastifyInstance, maxBytesInFlight: number): void {
  let inFlight = 0;
  app.addHook("onSend", async (_request, reply, payload) => {
    const bytes = typeof payload === "string" ? Buffer.byteLength(payload) : Buffer.isBuffer(payload) ? payload.length : 0;
    if (bytes < COUNTED_FROM_BYTES) return payload;
    if (inFlight + bytes > maxBytesInFlight) {
      throw new SluiceError("BUSY", `the server is sending ${Math.round(inFlight / 1048576)} MiB of answers already (http.maxResponseBytesInFlight); retry shortly`, 503);
    }
    inFlight += bytes;
    // 'close' comes once the response is done or its socket is gone, whichever is first.
    reply.raw.once("close", () => {
      inFlight -= bytes;
    });
    return payload;
  });
}
