import type { FastifyInstance, FastifyRequest } from "fastify";
import { Transform, type TransformCallback } from "node:stream";
import { SluiceError } from "../errors.js";

// Per request, the body bound its admission gave (a plan's maxPayloadBytes).
const caps = new WeakMap<FastifyRequest, number>();

/** Bounds this request's body to `bytes`, counted as they arrive. */
export function capBody(request: FastifyRequest, bytes: number): void {
  caps.set(request, bytes);
}

/**
 * Enforces the bounds set by `capBody` on the body as it streams in. `Content-Length` is checked
 * at admission already; a chunked body has none, so only counting the bytes themselves bounds it.
 */
export function installBodyCap(scope: FastifyInstance): void {
  scope.addHook("preParsing", async (request, _reply, payload) => {
    const cap = caps.get(request);
    if (cap === undefined) return payload;
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        seen += chunk.length;
        if (seen > cap) done(new SluiceError("PLAN_LIMIT", `the body is over the plan's ${cap} bytes`, 413));
        else done(null, chunk);
      },
    });
    payload.on("error", (err) => counter.destroy(err));
    return payload.pipe(counter);
  });
}
