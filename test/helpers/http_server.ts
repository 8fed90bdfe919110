import sdk from "@tago-io/sdk";
import { pino } from "pino";
import type { FastifyInstance } from "fastify";
import { createHttpServer } from "../../src/http/server.js";
import { IdentityService } from "../../src/identity/service.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";

// The SDK is CommonJS and Node cannot see its named exports from ESM.
const { Resources } = sdk;
export type SdkResources = InstanceType<typeof Resources>;

export interface TestServer {
  url: string;
  /** The admin account's token. */
  accountToken: string;
  accountId: string;
  identity: IdentityService;
  store: SqliteStore;
  metrics: Metrics;
  app: FastifyInstance;
  /** The official SDK pointed at this server, authenticated as `token` (the admin by default). */
  resources(token?: string): SdkResources;
  /** Creates a second account and returns its token. */
  otherAccount(): Promise<{ accountId: string; token: string }>;
  close(): Promise<void>;
}

/** A real Sluice HTTP API on an ephemeral port, backed by an in-memory store. */
export async function startTestServer(options: { identity?: (store: SqliteStore) => IdentityService } = {}): Promise<TestServer> {
  const store = new SqliteStore(":memory:");
  const identity = options.identity?.(store) ?? new IdentityService(store.identity);
  const admin = await identity.bootstrapAdmin();
  if (!admin) throw new Error("fresh store already had an account");
  const metrics = new Metrics({ processMetrics: false });
  const app = await createHttpServer({ identity, metrics, logger: pino({ level: "silent" }) });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url,
    accountToken: admin.token,
    accountId: admin.accountId,
    identity,
    store,
    metrics,
    app,
    resources: (token = admin.token) => new Resources({ token, region: { api: url, sse: `${url}/events` } }),
    otherAccount: () => identity.createAccount("other"),
    async close() {
      await app.close();
      identity.stop();
      await store.close();
    },
  };
}
