import { abuseScenario } from "./abuse.js";
import { clusterScenario } from "./cluster.js";
import { clusterQos1Scenario } from "./cluster_qos1.js";
import { devicesScenario } from "./devices.js";
import type { Scenario } from "./context.js";
import { dashboardsScenario } from "./dashboards.js";
import { dashboardViewScenario } from "./dashboard_view.js";
import { idleScenario } from "./idle.js";
import { ingestScenario } from "./ingest.js";
import { ingestPgScenario } from "./ingest_pg.js";
import { inspectorLatencyScenario } from "./inspector_latency.js";
import { limitsScenario } from "./limits.js";
import { relayScenario } from "./relay.js";
import { throughputScenario, topologies } from "./throughput.js";

export const scenarios: Scenario[] = [...topologies.map(throughputScenario), idleScenario, ingestScenario, relayScenario, limitsScenario, abuseScenario, inspectorLatencyScenario, devicesScenario, dashboardsScenario, dashboardViewScenario, clusterScenario, ingestPgScenario, clusterQos1Scenario];

export function scenarioByName(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
