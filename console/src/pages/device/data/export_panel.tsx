/** "Export CSV": every record the current filter selects, with a running count and a cancel button. */
import { useRef, useState } from "preact/hooks";
import { ErrorText } from "../../../components/error_text.js";
import { download, exportCsv } from "./export.js";
import type { DataForm } from "./query.js";

export function ExportPanel({ deviceId, deviceName, form }: { deviceId: string; deviceName: string; form: DataForm }) {
  const [running, setRunning] = useState(false);
  const [count, setCount] = useState(0);
  const [status, setStatus] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const controller = useRef<AbortController | undefined>(undefined);

  const start = async () => {
    controller.current = new AbortController();
    setRunning(true);
    setError(undefined);
    setCount(0);
    setStatus("");
    try {
      const { blob, records } = await exportCsv(deviceId, form, (p) => setCount(p.records), controller.current.signal);
      const safe = deviceName.replace(/[^\w.-]+/g, "_").slice(0, 60) || deviceId;
      download(blob, `${safe}-data-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`);
      setStatus(`Exported ${records.toLocaleString()} record${records === 1 ? "" : "s"}.`);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") setStatus("Export cancelled.");
      else setError(err);
    } finally {
      setRunning(false);
    }
  };

  return (
    <section class="card data-panel" aria-labelledby="data-export-title">
      <h2 id="data-export-title">Export CSV</h2>
      <p class="muted small">
        Every record the filter above selects (its query kind aside), as variable, value, unit, time, group, location (“lat,lng”) and metadata (JSON).
      </p>
      <div class="toolbar">
        {running ? (
          <button type="button" class="btn" onClick={() => controller.current?.abort()}>
            Cancel export
          </button>
        ) : (
          <button type="button" class="btn primary" onClick={() => void start()}>
            Export CSV
          </button>
        )}
        <span role="status" class="muted">
          {running ? `${count.toLocaleString()} records fetched…` : status}
        </span>
      </div>
      <ErrorText error={error} />
    </section>
  );
}
