import { FairReads } from "../../data/fair_reads.js";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { toApiBucket, toApiDownsample, toApiRecord } from "../../data/api_record.js";
import { DEFAULT_MAX_PAGE_BYTES, parseDataQuery } from "../../data/query.js";
import type { BucketStore, QueryResult } from "../../data/types.js";
import { validateEdits } from "../../data/validate.js";
import type { DevicePrincipal } from "../../identity/service.js";
import { devicePermitted } from "../auth.js";
import { ok } from "../envelope.js";
import { documentRoutes, TAGS } from "../openapi.js";

/**
 * TagoIO's device data API, as the SDK's `Device` calls it with a device token:
 * `POST /data` → "N Data Added", `GET /data` → records (or a number for count/avg/sum),
 * `PUT /data` → "N item(s) updated", `DELETE /data` → "N Data Removed".
 *
 * A token's permission applies: `write` tokens send, edit and delete; `read` tokens query.
 */
export const DATA_BODY_LIMIT = 200 * 1024;

/** What storing a POST /data body did: the count, or the stored records themselves. */
export interface IngestResult {
  stored: number | readonly unknown[];
}

/** The pipeline's entry for HTTP data (parser, validation, actions, then the bucket). */
export type Ingest = (principal: DevicePrincipal, body: unknown) => Promise<IngestResult>;

export interface DataRouteDeps {
  buckets: BucketStore;
  /** Slots for record reads, fair between accounts. */
  reads: FairReads;
  ingest: Ingest;
  /** Largest POST/PUT body (default 200 kB, TagoIO's limit). */
  bodyLimit?: number;
  /** Largest `skip` (config `data.maxSkip`; default DEFAULT_MAX_SKIP). */
  maxSkip?: number;
  /** Largest page of records in bytes (config `data.maxPageBytes`; default DEFAULT_MAX_PAGE_BYTES). */
  maxPageBytes?: number;
}

/** The response header saying a page of records was cut at `data.maxPageBytes` (value `bytes`). */
export const TRUNCATED_HEADER = "x-sluice-truncated";

export function dataRoutes(deps: DataRouteDeps): FastifyPluginAsync {
  const { buckets, ingest } = deps;
  const bodyLimit = deps.bodyLimit ?? DATA_BODY_LIMIT;
  // DELETE /data selects records, it does not send them: no bound in bytes there.
  const deleteOptions = { maxSkip: deps.maxSkip };
  const options = { ...deleteOptions, maxPageBytes: deps.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES };
  return async (app) => {
    documentRoutes(app, { tag: TAGS.deviceApi.name });
    app.post("/data", { bodyLimit }, async (request) => {
      const principal = allowed(request, "write");
      const { stored } = await ingest(principal, request.body);
      return ok(`${typeof stored === "number" ? stored : stored.length} Data Added`);
    });

    app.get("/data", async (request, reply) => {
      const principal = allowed(request, "read");
      const query = parseDataQuery(request.query as Record<string, unknown>, new Date(), options);
      return ok(toApi(await deps.reads.run(principal.accountId, () => buckets.query(principal.deviceId, query)), principal.deviceId, query.details, reply));
    });

    app.put("/data", { bodyLimit }, async (request) => {
      const principal = allowed(request, "write");
      const changed = await buckets.edit(principal.deviceId, validateEdits(request.body));
      return ok(`${changed} item(s) updated`);
    });

    app.delete("/data", async (request) => {
      const principal = allowed(request, "write");
      const query = parseDataQuery(request.query as Record<string, unknown>, new Date(), deleteOptions);
      const removed = await buckets.remove(principal.deviceId, query);
      return ok(`${removed} Data Removed`);
    });
  };
}

function allowed(request: FastifyRequest, need: "read" | "write"): DevicePrincipal {
  return devicePermitted(request, need, need === "read" ? "read data" : "send or change data");
}

/**
 * Records as TagoIO's Data list; count/avg/sum as a bare number, which the SDK wraps into
 * `[{ time, value }]`. An average over nothing is an empty list: TagoIO answers null there,
 * which SDK v12's getData cannot handle, while an empty list reads as "no data" everywhere.
 *
 * A page cut at `data.maxPageBytes` gets `X-Sluice-Truncated: bytes` on `reply`: TagoIO's
 * answer has no field for it, and fewer records than `qty` is already what its SDK pages on
 * (`skip` advances by the records received).
 */
export function toApi(result: QueryResult, device: string, details: boolean, reply?: FastifyReply): unknown {
  switch (result.type) {
    case "records":
      if (result.truncated) void reply?.header(TRUNCATED_HEADER, "bytes");
      return result.records.map((record) => toApiRecord(record, details));
    case "number":
      return result.value ?? [];
    case "buckets":
      return result.buckets.map((bucket) => toApiBucket(bucket, device));
    case "series":
      return result.series.map((bucket) => toApiDownsample(bucket, device));
  }
}
