/**
 * Edits one record (`PUT /device/:id/data`): value with its type, unit, time, group, location
 * and metadata. Only changed fields are sent (an absent field stays as stored); emptying unit,
 * location or metadata clears it. The variable cannot change (the API's rule).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { DataRecordEditJson, DataRecordJson } from "../../../../../src/http/api_types.js";
import { put, seg } from "../../../api/client.js";
import { ErrorText } from "../../../components/error_text.js";
import "../../../styles/dialog.css";

type ValueType = "number" | "string" | "boolean" | "none";

interface Fields {
  type: ValueType;
  value: string;
  unit: string;
  time: string;
  group: string;
  lat: string;
  lng: string;
  metadata: string;
}

function fieldsOf(r: DataRecordJson): Fields {
  const type: ValueType = r.value === undefined ? "none" : typeof r.value === "number" ? "number" : typeof r.value === "boolean" ? "boolean" : "string";
  return {
    type,
    value: r.value === undefined ? "" : String(r.value),
    unit: r.unit ?? "",
    time: r.time,
    group: r.group,
    lat: r.location ? String(r.location.coordinates[1]) : "",
    lng: r.location ? String(r.location.coordinates[0]) : "",
    metadata: r.metadata ? JSON.stringify(r.metadata, null, 2) : "",
  };
}

/** The fields that changed, as the API takes them; throws when the value cannot be the chosen type. */
function editOf(record: DataRecordJson, before: Fields, now: Fields): Record<string, unknown> & { id: string } {
  const edit: Record<string, unknown> & { id: string } = { id: record.id };
  if (now.type !== before.type || now.value !== before.value) {
    if (now.type === "none") edit.value = null;
    else if (now.type === "boolean") edit.value = now.value === "true";
    else if (now.type === "number") {
      const n = Number(now.value.trim());
      if (now.value.trim() === "" || !Number.isFinite(n)) throw new Error(`Value: “${now.value}” is not a number`);
      edit.value = n;
    } else edit.value = now.value;
  }
  if (now.unit !== before.unit) edit.unit = now.unit === "" ? null : now.unit;
  if (now.time !== before.time) edit.time = now.time;
  if (now.group !== before.group) edit.group = now.group;
  if (now.lat !== before.lat || now.lng !== before.lng) {
    // Text that is not a number goes as typed: the API names the field it refuses.
    const num = (s: string) => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s);
    edit.location = now.lat.trim() === "" && now.lng.trim() === "" ? null : { lat: num(now.lat), lng: num(now.lng) };
  }
  if (now.metadata !== before.metadata) {
    if (now.metadata.trim() === "") edit.metadata = null;
    else {
      try {
        edit.metadata = JSON.parse(now.metadata);
      } catch {
        edit.metadata = now.metadata; // the API says "metadata must be an object"
      }
    }
  }
  return edit;
}

export interface RecordEditorProps {
  deviceId: string;
  record: DataRecordJson | undefined;
  onClose: () => void;
  /** After a successful save, with the API's answer ("1 item(s) updated"). */
  onSaved: (message: string) => void;
}

export function RecordEditor({ deviceId, record, onClose, onSaved }: RecordEditorProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [fields, setFields] = useState<Fields | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!record) return;
    setFields(fieldsOf(record));
    setError(undefined);
    if (!dialog.current?.open) dialog.current?.showModal();
  }, [record]);
  const set = <K extends keyof Fields>(key: K, value: Fields[K]) => setFields((f) => (f ? { ...f, [key]: value } : f));

  const save = async (e: Event) => {
    e.preventDefault();
    if (!record || !fields) return;
    setError(undefined);
    let edit: Record<string, unknown> & { id: string };
    try {
      edit = editOf(record, fieldsOf(record), fields);
    } catch (err) {
      setError(err);
      return;
    }
    if (Object.keys(edit).length === 1) {
      dialog.current?.close();
      return;
    }
    setBusy(true);
    try {
      const message = await put<string>(`/device/${seg(deviceId)}/data`, [edit as unknown as DataRecordEditJson]);
      dialog.current?.close();
      onSaved(message);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="form-dialog" aria-labelledby="record-editor-title" onClose={onClose}>
      {record && fields && (
        <form onSubmit={save}>
          <h2 id="record-editor-title">Edit {record.variable}</h2>
          <p class="muted small mono">{record.id}</p>
          <div class="editor-grid">
            <label>
              Value type
              <select value={fields.type} onChange={(e) => set("type", e.currentTarget.value as ValueType)}>
                <option value="number">number</option>
                <option value="string">text</option>
                <option value="boolean">boolean</option>
                <option value="none">none (no value)</option>
              </select>
            </label>
            {fields.type === "boolean" ? (
              <label>
                Value
                <select value={fields.value === "true" ? "true" : "false"} onChange={(e) => set("value", e.currentTarget.value)}>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              </label>
            ) : (
              <label>
                Value
                <input type="text" value={fields.value} disabled={fields.type === "none"} onInput={(e) => set("value", e.currentTarget.value)} inputMode={fields.type === "number" ? "decimal" : undefined} />
              </label>
            )}
            <label>
              Unit
              <input type="text" value={fields.unit} onInput={(e) => set("unit", e.currentTarget.value)} />
            </label>
            <label>
              Group
              <input type="text" class="mono" value={fields.group} onInput={(e) => set("group", e.currentTarget.value)} />
            </label>
            <div class="field wide">
              <label>
                Time
                <input type="text" class="mono" value={fields.time} onInput={(e) => set("time", e.currentTarget.value)} aria-describedby="record-editor-time-hint" />
              </label>
              <small class="muted hint" id="record-editor-time-hint">ISO 8601; without a zone, UTC</small>
            </div>
            <label>
              Latitude
              <input type="text" inputMode="decimal" value={fields.lat} onInput={(e) => set("lat", e.currentTarget.value)} />
            </label>
            <label>
              Longitude
              <input type="text" inputMode="decimal" value={fields.lng} onInput={(e) => set("lng", e.currentTarget.value)} />
            </label>
          </div>
          <label>
            Metadata (JSON object; empty to remove)
            <textarea rows={5} value={fields.metadata} onInput={(e) => set("metadata", e.currentTarget.value)} spellcheck={false} />
          </label>
          <ErrorText error={error} />
          <div class="dialog-buttons">
            <button type="button" class="btn" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={busy}>
              {busy ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
