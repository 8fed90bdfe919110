/**
 * "Import CSV": the file is read and parsed in the browser (RFC 4180, lib/csv.ts), then sent in
 * chunks with a progress bar; each refused chunk is listed with the API's words and its lines.
 */
import { useRef, useState } from "preact/hooks";
import { ErrorText } from "../../../components/error_text.js";
import { CSV_COLUMNS, parseImport, type ParsedImport } from "./csv_records.js";
import { importRows, type ChunkFailure } from "./import.js";

type Phase = { name: "idle" } | { name: "ready"; file: string; parsed: ParsedImport } | { name: "running"; file: string; parsed: ParsedImport } | { name: "done"; file: string; parsed: ParsedImport };

export function ImportPanel({ deviceId, onImported }: { deviceId: string; onImported: () => void }) {
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [typed, setTyped] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState(0);
  const [stored, setStored] = useState(0);
  const [waiting, setWaiting] = useState("");
  const [failures, setFailures] = useState<ChunkFailure[]>([]);
  const [summary, setSummary] = useState("");
  const controller = useRef<AbortController | undefined>(undefined);
  const fileInput = useRef<HTMLInputElement>(null);

  const read = async (file: File | undefined, typedValues = typed) => {
    setError(undefined);
    setSummary("");
    setFailures([]);
    if (!file) return setPhase({ name: "idle" });
    try {
      const parsed = parseImport(await file.text(), { typedValues });
      setPhase({ name: "ready", file: file.name, parsed });
    } catch (err) {
      setPhase({ name: "idle" });
      setError(err);
    }
  };

  const run = async () => {
    if (phase.name !== "ready") return;
    const { parsed, file } = phase;
    controller.current = new AbortController();
    setPhase({ name: "running", file, parsed });
    setDone(0);
    setStored(0);
    setFailures([]);
    setSummary("");
    let storedNow = 0;
    try {
      const result = await importRows(
        deviceId,
        parsed.rows,
        {
          onProgress: (d, s) => {
            setDone(d);
            setStored(s);
            storedNow = s;
          },
          onFailure: (f) => setFailures((list) => [...list, f]),
          onWait: (seconds, message) => setWaiting(seconds > 0 ? `Waiting ${seconds} s for the rate limit: ${message}` : ""),
        },
        controller.current.signal,
      );
      setSummary(`${result.stored.toLocaleString()} of ${parsed.rows.length.toLocaleString()} rows imported${result.failed > 0 ? `; ${result.failed.toLocaleString()} refused (below)` : ""}.`);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") setSummary(`Import cancelled: ${storedNow.toLocaleString()} rows were stored before.`);
      else setError(err);
    } finally {
      setWaiting("");
      setPhase({ name: "done", file, parsed });
      onImported();
    }
  };

  const total = phase.name === "idle" ? 0 : phase.parsed.rows.length;
  return (
    <section class="card data-panel" aria-labelledby="data-import-title">
      <h2 id="data-import-title">Import CSV</h2>
      <p class="muted small">
        A header row names the columns ({CSV_COLUMNS.join(", ")}; any order, only <code>variable</code> required). Rows are sent as data to the device
        (<code>POST /device/:id/data</code>): through its payload parser when it has one, under the plan's limits.
      </p>
      <div class="toolbar">
        <label class="file-label">
          CSV file
          <input ref={fileInput} type="file" accept=".csv,text/csv" disabled={phase.name === "running"} onChange={(e) => void read(e.currentTarget.files?.[0])} />
        </label>
        <label class="inline">
          <input
            type="checkbox"
            checked={typed}
            disabled={phase.name === "running"}
            onChange={(e) => {
              const value = e.currentTarget.checked;
              setTyped(value);
              void read(fileInput.current?.files?.[0], value);
            }}
          />
          Read numbers and true/false as such (else every value is text)
        </label>
      </div>
      <ErrorText error={error} />
      {phase.name !== "idle" && (
        <>
          <p>
            {total.toLocaleString()} row{total === 1 ? "" : "s"} read from <strong>{phase.file}</strong>
            {phase.parsed.ignored.length > 0 && <span class="warn"> (columns ignored: {phase.parsed.ignored.join(", ")})</span>}.
          </p>
          <div class="toolbar">
            {phase.name === "running" ? (
              <button type="button" class="btn" onClick={() => controller.current?.abort()}>
                Cancel import
              </button>
            ) : (
              <button type="button" class="btn primary" disabled={total === 0 || phase.name === "done"} onClick={() => void run()}>
                Import {total.toLocaleString()} rows
              </button>
            )}
          </div>
          {phase.name !== "ready" && (
            <div class="import-progress">
              <label class="inline" for="data-import-progress">
                Imported {done.toLocaleString()} of {total.toLocaleString()} rows
              </label>
              <progress id="data-import-progress" max={Math.max(total, 1)} value={done} />
              <span class="muted small">{stored.toLocaleString()} stored</span>
            </div>
          )}
        </>
      )}
      <p role="status" class="muted">{waiting || summary}</p>
      {failures.length > 0 && (
        <ul class="import-failures" aria-label="Refused chunks">
          {failures.map((f) => (
            <li key={f.firstLine}>
              <strong>
                Lines {f.firstLine}–{f.lastLine} ({f.rows.toLocaleString()} rows) not imported:
              </strong>{" "}
              <span class="error">
                {f.message}
                {f.status > 0 && ` (HTTP ${f.status})`}
              </span>
              {f.line !== undefined && <span class="muted"> — that record is line {f.line} of the file</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
