import { defaultConfig } from "../../src/config/schema.js";
import { FairReads } from "../../src/data/fair_reads.js";
import sdk from "@tago-io/sdk";
import type { FastifyInstance } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { SqliteBucketStore } from "../../src/data/sqlite/bucket_store.js";
import { SqliteParamStore } from "../../src/data/sqlite/param_store.js";
import { validateRecords } from "../../src/data/validate.js";
import { dataRoutes, type Ingest } from "../../src/http/routes/data.js";
import { accountDeviceDataRoutes } from "../../src/http/routes/device_data.js";
import { accountParamRoutes, deviceParamRoutes } from "../../src/http/routes/device_params.js";
import { deviceSelfRoutes } from "../../src/http/routes/device_self.js";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { openDatabase } from "../../src/store/sqlite/open.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";

// The SDK is CommonJS and Node cannot see its named exports from ESM.
const { Device, Resources } = sdk;
export type SdkDevice = InstanceType<typeof Device>;
export type SdkResources = InstanceType<typeof Resources>;

export interface DataServer {
  url: string;
  accountToken: string;
  identity: IdentityService;
  buckets: SqliteBucketStore;
  app: FastifyInstance;
  /** A new device; its default (full) token. */
  device(name?: string): Promise<{ deviceId: string; token: string }>;
  /** The SDK's Device class pointed at this server. */
  deviceApi(token: string): SdkDevice;
  resources(): SdkResources;
  close(): Promise<void>;
}

/**
 * The HTTP API with the data routes mounted, on a SQLite file in a temp dir: identity on the
 * store's connection, buckets and params on a second connection to the same file, as the
 * composition root does. `ingest` stands in for the pipeline: validate, then store.
 */
export async function startDataServer(): Promise<DataServer> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-data-http-"));
  const store = new SqliteStore(dir);
  const identity = new IdentityService(store.identity);
  const admin = await identity.bootstrapAdmin();
  if (!admin) throw new Error("fresh store already had an account");
  const dataDb = openDatabase(join(dir, "sluice.db"));
  const buckets = new SqliteBucketStore(dataDb, { retentionSweepMs: 0 });
  const params = new SqliteParamStore(dataDb);
  const ingest: Ingest = async (principal, body) => ({ stored: await buckets.insert(principal.deviceId, validateRecords(body, new Date())) });
  const metrics = new Metrics({ processMetrics: false });
  const app = await createHttpServer({
    identity,
    metrics,
    logger: pino({ level: "silent" }),
    routes: {
      device: [dataRoutes({ buckets, ingest, reads: new FairReads({ concurrency: defaultConfig.data.readsConcurrency, perAccount: defaultConfig.data.readsPerAccount, waitingPerAccount: defaultConfig.data.readsWaitingPerAccount }) }), deviceParamRoutes({ params })],
      public: [deviceSelfRoutes({ identity, metrics })],
      account: [accountParamRoutes({ identity, params }), accountDeviceDataRoutes({ identity, buckets })],
    },
  });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const region = { api: url, sse: `${url}/events` };
  return {
    url,
    accountToken: admin.token,
    identity,
    buckets,
    app,
    async device(name = "sensor") {
      const { device, token } = await identity.createDevice(admin.accountId, { name });
      return { deviceId: device.id, token };
    },
    deviceApi: (token) => new Device({ token, region }),
    resources: () => new Resources({ token: admin.token, region }),
    async close() {
      await app.close();
      await buckets.close();
      dataDb.close();
      identity.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
