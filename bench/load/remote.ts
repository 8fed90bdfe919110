// The orchestrator's handle on a load-generator process: request/response over the IPC channel,
// with a deadline on every request so a wedged broker can never hang the benchmark.
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startChild, stopChild } from "../children.js";
import type {
  AgentRequest,
  Envelope,
  IdleOpenRequest,
  IdleOpenResult,
  IdleStatusResult,
  IngestPhaseRequest,
  IngestPhaseResult,
  IngestSetupRequest,
  IngestTotals,
  PhaseRequest,
  PhaseResult,
  Reply,
  Sample,
  SetupRequest,
  SetupResult,
} from "./protocol.js";

const agentPath = fileURLToPath(new URL("./agent.js", import.meta.url));

export class LoadAgent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exitError: Error | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (raw: unknown) => {
      const reply = raw as Reply; // only bench/load/agent.ts talks on this channel
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(reply.error ?? "load generator failed"));
    });
    child.once("exit", (code, signal) => {
      this.exitError = new Error(`load generator exited (${signal ?? `code ${code}`})`);
      for (const w of this.pending.values()) w.reject(this.exitError);
      this.pending.clear();
    });
  }

  /** `cpus` pins the generator with taskset (BENCH_PIN). */
  static start(cpus?: string): LoadAgent {
    const child = startChild(process.execPath, [agentPath], { stdio: ["ignore", "inherit", "inherit", "ipc"] }, cpus);
    return new LoadAgent(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  setup(req: Omit<SetupRequest, "type">, timeoutMs: number): Promise<SetupResult> {
    return this.request({ type: "setup", ...req }, timeoutMs) as Promise<SetupResult>;
  }

  phase(req: Omit<PhaseRequest, "type">): Promise<PhaseResult> {
    const timeoutMs = req.warmupMs + req.measureMs + req.quiesceTimeoutMs + 15_000;
    return this.request({ type: "phase", ...req }, timeoutMs) as Promise<PhaseResult>;
  }

  idleOpen(req: Omit<IdleOpenRequest, "type">, timeoutMs: number): Promise<IdleOpenResult> {
    return this.request({ type: "idle-open", ...req }, timeoutMs) as Promise<IdleOpenResult>;
  }

  idleStatus(): Promise<IdleStatusResult> {
    return this.request({ type: "idle-status" }, 10_000) as Promise<IdleStatusResult>;
  }

  ingestSetup(req: Omit<IngestSetupRequest, "type">, timeoutMs: number): Promise<SetupResult> {
    return this.request({ type: "ingest-setup", ...req }, timeoutMs) as Promise<SetupResult>;
  }

  ingestPhase(req: Omit<IngestPhaseRequest, "type">): Promise<IngestPhaseResult> {
    const timeoutMs = req.warmupMs + req.measureMs + req.drainTimeoutMs + 15_000;
    return this.request({ type: "ingest-phase", ...req }, timeoutMs) as Promise<IngestPhaseResult>;
  }

  ingestTotals(): Promise<IngestTotals> {
    return this.request({ type: "ingest-totals" }, 10_000) as Promise<IngestTotals>;
  }

  /** Starts or stops blasting on the publishers of the last setup (windows timed by the caller). */
  async blast(on: boolean): Promise<void> {
    await this.request({ type: "blast", on }, 10_000);
  }

  sample(): Promise<Sample> {
    return this.request({ type: "sample" }, 10_000) as Promise<Sample>;
  }

  /** Drops every connection with RST. */
  async reset(): Promise<void> {
    await this.request({ type: "close" }, 10_000);
  }

  async stop(): Promise<void> {
    if (this.exitError === null) {
      await this.request({ type: "close" }, 5_000).catch(() => undefined);
    }
    await stopChild(this.child, 1000);
  }

  private request(body: AgentRequest, timeoutMs: number): Promise<unknown> {
    if (this.exitError !== null) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load generator did not answer "${body.type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, body } satisfies Envelope<AgentRequest>);
    });
  }
}
