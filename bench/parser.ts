// `npm run build && node dist/bench/parser.js [runs]`: the per-message cost of payload parsers.
// Prints runs/s for a typical TagoIO parser (hex → JSON → 3 records) through the sandbox, on
// the event loop and on isolated-vm's threads, one at a time, with many messages waiting (run
// in batches, one call into the isolate each), and across devices, beside the
// alternative it was measured against: a fresh context per message.
import ivm from "isolated-vm";
import { performance } from "node:perf_hooks";
import { IsolateParserSandbox } from "../src/sandbox/isolate_parser_sandbox.js";
import { bufferScript, dayjsScripts, preludeScript, wrapParser, PARSER_FILENAME } from "../src/sandbox/parser_globals.js";
import type { ParserRunInput } from "../src/sandbox/types.js";

const RUNS = Number(process.argv[2] ?? 20_000);

/** The shape of TagoIO's "Convert Raw JSON to TagoIO JSON" snippets, fed a hex uplink. */
const TYPICAL_PARSER = `
const raw = payload.find((item) => item.variable === "payload");
if (!raw) return;
const decoded = JSON.parse(Buffer.from(raw.value, "hex").toString("utf8"));
const group = String(Date.now());
payload = [
  { variable: "temperature", value: decoded.t / 10, unit: "°C", group },
  { variable: "humidity", value: decoded.h, unit: "%", group },
  { variable: "battery", value: decoded.b / 1000, unit: "V", group },
];
`;

const message = Buffer.from(JSON.stringify({ t: 231, h: 48, b: 3312 })).toString("hex");
const inputFor = (deviceId: string): ParserRunInput => ({
  payload: [{ variable: "payload", value: message, metadata: { topic: "sensors/1", mqtt_topic: "sensors/1" } }],
  device: { id: deviceId, name: deviceId, params: [{ key: "offset", value: "0", sent: false }], tags: [{ key: "type", value: "thermo" }] },
});

/** `cpuMicros`: CPU time of the whole process per run, isolated-vm's threads included. */
function report(label: string, runs: number, ms: number, cpuMicros?: number): void {
  const perRun = (ms * 1000) / runs;
  const cpu = cpuMicros === undefined ? "" : `  ${cpuMicros.toFixed(1).padStart(7)} µs CPU/run`;
  console.log(`${label.padEnd(58)} ${Math.round((runs / ms) * 1000).toString().padStart(7)} runs/s  ${perRun.toFixed(1).padStart(7)} µs/run${cpu}`);
}

async function sequential(loopSliceMs: number, label: string): Promise<void> {
  const sandbox = new IsolateParserSandbox({ loopSliceMs });
  const input = inputFor("bench-device");
  const first = await sandbox.run(TYPICAL_PARSER, input);
  if (!Array.isArray(first.payload) || first.payload.length !== 3) throw new Error(`unexpected output ${JSON.stringify(first.payload)}`);
  for (let i = 0; i < 1000; i++) await sandbox.run(TYPICAL_PARSER, input);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < RUNS; i++) await sandbox.run(TYPICAL_PARSER, input);
  const used = process.cpuUsage(cpu);
  report(label, RUNS, performance.now() - start, (used.user + used.system) / RUNS);
  await sandbox.close();
}

/**
 * Messages waiting together, as under load (the broker reads many PUBLISH packets of one device
 * at once): `inFlight` runs per device are kept queued, so the sandbox takes the waiting ones of
 * a device into one call into its isolate (DeviceIsolate.runMany).
 */
async function queued(devices: number, inFlight: number): Promise<void> {
  const sandbox = new IsolateParserSandbox();
  const inputs = Array.from({ length: devices }, (_, i) => inputFor(`queued-${i}`));
  const perStream = Math.max(1, Math.ceil(RUNS / devices / inFlight));
  const streams = async (count: number): Promise<void> => {
    await Promise.all(
      inputs.flatMap((input) =>
        Array.from({ length: inFlight }, async () => {
          for (let i = 0; i < count; i++) await sandbox.run(TYPICAL_PARSER, input);
        }),
      ),
    );
  };
  await streams(5);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await streams(perStream);
  const used = process.cpuUsage(cpu);
  const runs = perStream * inFlight * devices;
  report(`${devices} device(s), ${inFlight} messages each waiting (one call per batch)`, runs, performance.now() - start, (used.user + used.system) / runs);
  await sandbox.close();
}

/** Devices in parallel: off the event loop, isolates run on isolated-vm's threads side by side. */
async function parallel(devices: number): Promise<void> {
  const sandbox = new IsolateParserSandbox({ loopSliceMs: 0 });
  const inputs = Array.from({ length: devices }, (_, i) => inputFor(`device-${i}`));
  await Promise.all(inputs.map((input) => sandbox.run(TYPICAL_PARSER, input)));
  const perDevice = Math.ceil(RUNS / devices);
  const start = performance.now();
  await Promise.all(
    inputs.map(async (input) => {
      for (let i = 0; i < perDevice; i++) await sandbox.run(TYPICAL_PARSER, input);
    }),
  );
  report(`${devices} devices concurrently, always on threads`, perDevice * devices, performance.now() - start);
  await sandbox.close();
}

/** First message of a device: the isolate is created (dayjs, prelude, hardening) and the parser compiled. */
async function coldStart(): Promise<void> {
  const sandbox = new IsolateParserSandbox({ maxIsolates: 10_000 });
  const count = 200;
  const start = performance.now();
  for (let i = 0; i < count; i++) await sandbox.run(TYPICAL_PARSER, inputFor(`cold-${i}`));
  const ms = performance.now() - start;
  console.log(`${"first message of a device (isolate creation)".padEnd(58)} ${(ms / count).toFixed(2).padStart(7)} ms/device`);
  await sandbox.close();
}

/**
 * The rejected design: a new context per message, with dayjs and the prelude evaluated in it
 * (scripts compiled once per isolate). Besides its cost, V8 retains every context in which a
 * built-in prototype property was reassigned, as dayjs's plugins do, so the isolate runs out
 * of heap after a few hundred messages: that is why it is recycled here every 100 messages.
 */
function freshContextPerMessage(): void {
  const libraries = [...dayjsScripts(), bufferScript()];
  const prelude = preludeScript({ maxLogLines: 100, maxLogLineChars: 1024, maxOutputBytes: 1024 * 1024 });
  const runs = Math.min(RUNS, 2000);
  let isolate: ivm.Isolate | undefined;
  let scripts: ivm.Script[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    if (i % 100 === 0) {
      isolate?.dispose();
      isolate = new ivm.Isolate({ memoryLimit: 32 });
      const current = isolate;
      scripts = [...libraries, prelude].map((source) => current.compileScriptSync(source.code, { filename: source.filename }));
      scripts.push(current.compileScriptSync(wrapParser(TYPICAL_PARSER), { filename: PARSER_FILENAME, lineOffset: -1 }));
    }
    const context = isolate!.createContextSync();
    for (const script of scripts.slice(0, -2)) script.runSync(context);
    const hooks = scripts[scripts.length - 2]!.runSync(context, { reference: true }) as ivm.Reference<Record<string, unknown>>;
    const settle = hooks.getSync("settle", { reference: true }) as ivm.Reference<(parser: unknown, payload: string, device: string) => unknown>;
    const parser = scripts[scripts.length - 1]!.runSync(context, { reference: true }) as ivm.Reference<() => unknown>;
    const input = inputFor("fresh");
    settle.applySync(undefined, [parser.derefInto(), JSON.stringify(input.payload), JSON.stringify(input.device)], { timeout: 200, result: { copy: true } });
    context.release();
  }
  report("fresh context per message (rejected), on the event loop", runs, performance.now() - start);
  isolate?.dispose();
}

await sequential(2, "one device, default (event loop first, 2 ms slice)");
await sequential(0, "one device, always on threads (loopSliceMs 0)");
await queued(1, 64);
await queued(100, 64);
await parallel(4);
await coldStart();
freshContextPerMessage();
