// The cost of plan limits on routing (Sluice only). Fan-in saturation, 100 publishers → 1
// subscriber, run in alternating rounds by two accounts: one on `unlimited` (checks stop at a
// flag) and one on a plan with every limit finite but never reached, so each PUBLISH pays for
// the whole check path (the connection's and the account's token buckets, the payload ceiling).
// The score is the ratio of the medians; the target is a cost under 5 %.
import type { LimitsResult } from "../results.js";
import { LoadAgent } from "../load/remote.js";
import type { Credentials } from "../load/protocol.js";
import { SluiceApi } from "../sluice_api.js";
import { METERED_PLAN } from "../targets.js";
import type { Scenario } from "./context.js";
import { freshClients, topologies } from "./throughput.js";

const ROUNDS = 4;
const FAN_IN = topologies.find((t) => t.name === "fan-in")!;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rateText = (n: number): string => Math.round(n).toLocaleString("en-US");

/** An account on `plan` with one device; every connection of the scenario uses its token. */
async function accountOn(api: SluiceApi, plan: string): Promise<{ publish: Credentials[]; subscribe: Credentials[] }> {
  const { token: accountToken } = await api.request<{ token: string }>("POST", "/admin/account", { name: `bench ${plan}`, plan });
  const device = await api.request<{ token: string }>("POST", "/device", { name: "bench" }, accountToken);
  const credentials = { username: "Token", password: device.token };
  return { publish: FAN_IN.publishTopics.map(() => credentials), subscribe: FAN_IN.subscribeFilters.map(() => credentials) };
}

export const limitsScenario: Scenario<LimitsResult> = {
  name: "limits",
  title: "plan limits: fan-in saturation with every limit checked vs none",
  only: { kinds: ["sluice"], reason: "plans are Sluice's" },
  initial: () => ({ kind: "limits", publishers: FAN_IN.publishTopics.length, unlimited: [], metered: [] }),
  async run(target, ctx, result) {
    if (!target.api) throw new Error("the Sluice target has no API");
    const api = new SluiceApi(target.host, target.api.port, target.api.adminToken);
    const accounts = { unlimited: await accountOn(api, "unlimited"), metered: await accountOn(api, METERED_PLAN) };
    const agent = LoadAgent.start(ctx.generatorCpus);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // ABBA order: a broker that slows down over the run must not favour one side.
        for (const which of round % 2 === 0 ? (["unlimited", "metered"] as const) : (["metered", "unlimited"] as const)) {
          await freshClients(agent, FAN_IN, target, ctx, accounts[which]);
          const phase = await agent.phase({ mode: "blast", rate: 0, warmupMs: ctx.config.warmupS * 1000, measureMs: ctx.config.durationS * 1000, latency: false, quiesceTimeoutMs: 0 });
          result[which].push(phase.deliveredPerS);
          ctx.log(`round ${round + 1}, ${which}: ${rateText(phase.deliveredPerS)} msg/s delivered`);
        }
      }
      result.ratio = median(result.metered) / median(result.unlimited);
      ctx.log(`metered / unlimited: ${result.ratio.toFixed(3)} (medians ${rateText(median(result.metered))} / ${rateText(median(result.unlimited))})`);
    } finally {
      await agent.stop();
    }
  },
};
