/**
 * A device's payload parser: the code (its `parse_function`, read back base64-encoded as
 * `payload_decoder`) in the code editor, an emulator that runs it on a sample through
 * `POST /device/:id/parser/test` as an MQTT message (topic + payload text) or an HTTP body
 * (JSON), and Save (`PUT /device/:id`). A failed run marks its line in the editor.
 * Keys: Ctrl/Cmd+Enter runs, Ctrl/Cmd+S saves, wherever the focus is on this tab.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ParserTestFailureJson, ParserTestResultJson } from "../../../../src/http/api_types.js";
import { ApiError, post, put, seg } from "../../api/client.js";
import { CodeEditor, type CodeError } from "../../components/code_editor.js";
import { ErrorText } from "../../components/error_text.js";
import { isRecordList, RecordsTable } from "../../components/records_table.js";
import type { DeviceTabProps } from "../device.js";
import "../../styles/parser.css";
import "../../styles/segmented.css";

type Door = "mqtt" | "http";

const EXAMPLE = `// \`payload\` holds the records as they arrived. An MQTT payload that is not records in
// JSON arrives as one record: { variable: "payload", value: "<the payload's text>" }.
const raw = payload.find((record) => record.variable === "payload");
if (raw) {
  const bytes = Buffer.from(String(raw.value), "hex");
  payload = [
    { variable: "temperature", value: bytes.readInt16BE(0) / 10, unit: "°C" },
    { variable: "humidity", value: bytes.readUInt8(2), unit: "%" },
  ];
  console.log("decoded", bytes.length, "bytes");
}
`;

/** `payload_decoder` is the parser's UTF-8 text in base64. */
function decodeParser(base64: string | null): string {
  if (!base64) return "";
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

type Outcome =
  | { ok: true; result: ParserTestResultJson }
  | { ok: false; error: unknown; failure?: ParserTestFailureJson };

function isFailure(value: unknown): value is ParserTestFailureJson {
  return typeof value === "object" && value !== null && typeof (value as ParserTestFailureJson).kind === "string" && Array.isArray((value as ParserTestFailureJson).logs);
}

export default function ParserTab({ device, reload }: DeviceTabProps) {
  const [saved, setSaved] = useState(() => decodeParser(device.payload_decoder));
  const [code, setCode] = useState(saved);
  const [door, setDoor] = useState<Door>("mqtt");
  const [topic, setTopic] = useState("data");
  const [mqttPayload, setMqttPayload] = useState("00d728");
  const [httpBody, setHttpBody] = useState('[{ "variable": "payload", "value": "00d728" }]');
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [savedAt, setSavedAt] = useState<Date | undefined>(undefined);
  const dirty = code !== saved;

  const run = async () => {
    if (running) return;
    let payload: unknown;
    if (door === "http") {
      try {
        payload = JSON.parse(httpBody);
      } catch (err) {
        setOutcome({ ok: false, error: new Error(`The HTTP body is not JSON: ${(err as Error).message}`) });
        return;
      }
    } else payload = mqttPayload;
    setRunning(true);
    try {
      // Each door takes its own sample field (docs/parsers.md): MQTT a payload on a topic, HTTP a POST /data body.
      const body = door === "mqtt" ? { script: code, door, topic, payload } : { script: code, door, body: payload };
      const result = await post<ParserTestResultJson>(`/device/${seg(device.id)}/parser/test`, body);
      setOutcome({ ok: true, result });
    } catch (error) {
      const failure = error instanceof ApiError && isFailure(error.result) ? error.result : undefined;
      setOutcome({ ok: false, error, failure });
    } finally {
      setRunning(false);
    }
  };

  const save = async () => {
    if (saving) return;
    setSaving(true);
    const text = code;
    try {
      await put(`/device/${seg(device.id)}`, { parse_function: text });
      setSaved(text);
      setSavedAt(new Date());
      setSaveError(undefined);
      reload();
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };

  // The latest closures, for the key handler registered once.
  const actions = useRef({ run, save });
  actions.current = { run, save };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
      if (e.key === "Enter") {
        e.preventDefault();
        e.stopPropagation(); // before CodeMirror's own Mod-Enter (insert a blank line)
        void actions.current.run();
      } else if (e.key === "s" || e.key === "S") {
        e.preventDefault();
        e.stopPropagation();
        void actions.current.save();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, []);

  // Leaving the page with unsaved code asks first.
  useEffect(() => {
    if (!dirty) return;
    const onLeave = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onLeave);
    return () => window.removeEventListener("beforeunload", onLeave);
  }, [dirty]);

  // Computed once per run: the editor re-marks lines when this array changes, and its marks then
  // follow the user's edits until the next run.
  const errors = useMemo<CodeError[]>(
    () => (outcome && !outcome.ok && outcome.failure ? [{ line: outcome.failure.line, message: (outcome.error as Error).message }] : []),
    [outcome],
  );

  return (
    <div class="parser-tab">
      <div class="parser-grid">
        <section class="parser-code" aria-labelledby="parser-code-title">
          <div class="parser-head">
            <h2 id="parser-code-title">Parser code</h2>
            <span class={dirty ? "parser-dirty warn" : "parser-dirty muted"} role="status">
              {dirty ? "Unsaved changes" : savedAt ? `Saved at ${savedAt.toLocaleTimeString()}` : saved === "" ? "No parser saved" : "Saved"}
            </span>
            <div class="parser-buttons">
              {code.trim() === "" && (
                <button type="button" class="btn" onClick={() => setCode(EXAMPLE)}>
                  Insert an example
                </button>
              )}
              <button type="button" class="btn primary" onClick={() => void save()} disabled={saving || !dirty} aria-keyshortcuts="Control+S Meta+S">
                {saving ? "Saving…" : "Save"}
              </button>
            </div>
          </div>
          <ErrorText error={saveError} />
          <CodeEditor value={code} onChange={setCode} language="javascript" label="Parser code" errors={errors} minHeight="320px" />
          <p class="muted small">
            JavaScript that changes the global <code>payload</code> (the records as they arrived). Ctrl/⌘+Enter runs the emulator, Ctrl/⌘+S saves. An empty parser stores records as
            they came.
          </p>
        </section>
        <section class="parser-emulator" aria-labelledby="parser-emulator-title">
          <h2 id="parser-emulator-title">Emulator</h2>
          <fieldset class="segmented">
            <legend>Arrives over</legend>
            {(["mqtt", "http"] as const).map((d) => (
              <label key={d} class={door === d ? "on" : undefined}>
                <input type="radio" name="parser-door" value={d} checked={door === d} onChange={() => setDoor(d)} />
                {d === "mqtt" ? "MQTT" : "HTTP"}
              </label>
            ))}
          </fieldset>
          {door === "mqtt" ? (
            <>
              <label>
                Topic
                <input value={topic} onInput={(e) => setTopic(e.currentTarget.value)} spellcheck={false} />
              </label>
              <label>
                Payload (as published)
                <textarea rows={5} value={mqttPayload} onInput={(e) => setMqttPayload(e.currentTarget.value)} spellcheck={false} />
              </label>
            </>
          ) : (
            <label>
              Body of POST /data (JSON)
              <textarea rows={7} value={httpBody} onInput={(e) => setHttpBody(e.currentTarget.value)} spellcheck={false} />
            </label>
          )}
          <button type="button" class="btn primary" onClick={() => void run()} disabled={running || code.trim() === ""} aria-keyshortcuts="Control+Enter Meta+Enter">
            {running ? "Running…" : "Run"}
          </button>
          {code.trim() === "" && <p class="muted small">Write a parser (or insert the example) to run it.</p>}
        </section>
      </div>
      <section class="parser-result" aria-labelledby="parser-result-title" aria-live="polite">
        <h2 id="parser-result-title">Result</h2>
        {!outcome ? <p class="muted">Run the parser to see what it would store.</p> : <Result outcome={outcome} />}
      </section>
    </div>
  );
}

function Result({ outcome }: { outcome: Outcome }) {
  if (!outcome.ok) {
    const f = outcome.failure;
    return (
      <div class="parser-failure">
        <p class="parser-verdict bad">
          {f ? `Failed (${f.kind.replace("_", " ")})${f.line ? ` at line ${f.line}` : ""}` : "Could not run"}
        </p>
        <ErrorText error={outcome.error} />
        {f && <ConsoleLines logs={f.logs} />}
      </div>
    );
  }
  const { result } = outcome;
  const records = result.payload;
  return (
    <div>
      <p class="parser-verdict good">
        Ran in {result.duration_ms.toLocaleString(undefined, { maximumFractionDigits: 3 })} ms
        {Array.isArray(records) ? ` · ${records.length} output record${records.length === 1 ? "" : "s"}` : ""}
      </p>
      <h3>Output records</h3>
      {isRecordList(records) ? <RecordsTable records={records} caption="Output records" /> : <pre class="parser-json">{JSON.stringify(records, null, 2)}</pre>}
      <ConsoleLines logs={result.logs} />
    </div>
  );
}

function ConsoleLines({ logs }: { logs: ParserTestResultJson["logs"] }) {
  return (
    <>
      <h3>Console</h3>
      {logs.length === 0 ? (
        <p class="muted">No console lines.</p>
      ) : (
        <ol class="parser-console" aria-label="Console lines">
          {logs.map((line, i) => (
            <li key={i} class={`level-${line.level}`}>
              <span class="parser-level">{line.level}</span> <span class="mono">{line.message}</span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
