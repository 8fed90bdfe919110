/**
 * The bucket's retention (`GET|PUT /device/:id/data_retention`): keep records newer than N days
 * and/or at most the newest N records; empty = no bound. The API applies a new bound at once and
 * says how many records it removed, so saving asks first.
 */
import { useEffect, useState } from "preact/hooks";
import type { DataRetentionJson } from "../../../../../src/http/api_types.js";
import { get, put, seg } from "../../../api/client.js";
import { ConfirmButton } from "../../../components/confirm_button.js";
import { ErrorText } from "../../../components/error_text.js";
import { useApi } from "../../../hooks/use_api.js";

/** "" → null (no bound); digits → a number; anything else goes as typed for the API to refuse. */
function bound(text: string): number | null | string {
  const t = text.trim();
  if (t === "") return null;
  return /^\d+$/.test(t) ? Number(t) : t;
}

export function RetentionPanel({ deviceId, onChanged }: { deviceId: string; onChanged: () => void }) {
  const current = useApi((signal) => get<DataRetentionJson>(`/device/${seg(deviceId)}/data_retention`, undefined, signal), [deviceId]);
  const [days, setDays] = useState("");
  const [records, setRecords] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState("");
  useEffect(() => {
    if (!current.data) return;
    setDays(current.data.days === null ? "" : String(current.data.days));
    setRecords(current.data.records === null ? "" : String(current.data.records));
  }, [current.data]);

  const save = async () => {
    setError(undefined);
    setStatus("");
    try {
      setStatus(await put<string>(`/device/${seg(deviceId)}/data_retention`, { days: bound(days), records: bound(records) }));
      current.reload();
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const describe = (d: DataRetentionJson) =>
    d.days === null && d.records === null ? "Keeps every record." : `Keeps ${[d.days !== null && `records of the last ${d.days} day${d.days === 1 ? "" : "s"}`, d.records !== null && `at most the newest ${d.records.toLocaleString()} records`].filter(Boolean).join(" and ")}.`;

  return (
    <section class="card data-panel" aria-labelledby="data-retention-title">
      <h2 id="data-retention-title">Retention</h2>
      <ErrorText error={current.error} />
      {current.data && <p>{describe(current.data)}</p>}
      <form
        class="retention-form"
        onSubmit={(e) => e.preventDefault()}
        aria-label="Retention"
      >
        <label>
          Keep days (empty: no limit)
          <input type="text" inputMode="numeric" value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </label>
        <label>
          Keep records (empty: no limit)
          <input type="text" inputMode="numeric" value={records} onInput={(e) => setRecords(e.currentTarget.value)} />
        </label>
        <ConfirmButton
          class="btn primary"
          title="Save the retention?"
          message={<p>Records the new bounds do not keep are deleted at once, and then as they age. This cannot be undone.</p>}
          confirm="Save and apply"
          onConfirm={() => void save()}
        >
          Save retention
        </ConfirmButton>
      </form>
      <ErrorText error={error} />
      <p role="status" class="muted">{status}</p>
    </section>
  );
}
