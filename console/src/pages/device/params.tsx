/**
 * A device's configuration params (`/device/:id/params`): key/value pairs the device reads
 * (`GET /device/params`) and marks sent once applied. Add, edit (an edited param is unsent
 * again, so the device picks the change up), mark sent or not, delete.
 */
import { useState } from "preact/hooks";
import type { DeviceParamJson } from "../../../../src/http/api_types.js";
import { del, get, put, seg } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import type { DeviceTabProps } from "../device.js";
import "../../styles/devices.css";

export default function ParamsTab({ device }: DeviceTabProps) {
  const base = `/device/${seg(device.id)}/params`;
  const params = useApi((signal) => get<DeviceParamJson[]>(base, undefined, signal), [base]);
  const [error, setError] = useState<unknown>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);

  const run = async (work: () => Promise<unknown>): Promise<boolean> => {
    setError(undefined);
    try {
      await work();
      params.reload();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  const list = params.data ?? [];

  return (
    <div class="device-sections">
      <section class="card" aria-labelledby="params-title">
        <h2 id="params-title">Configuration params</h2>
        <p class="muted small">
          The device reads them with <code>GET /device/params</code> and marks each sent once applied (<code>PUT /device/params/:id</code>).
        </p>
        <ErrorText error={params.error ?? error} />
        <div class="table-wrap">
          <table class="grid params-table" aria-label="Configuration params">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Sent</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) =>
                editing === p.id ? (
                  <EditRow key={p.id} param={p} onCancel={() => setEditing(undefined)} onSave={async (key, value) => {
                    if (await run(() => put(base, [{ id: p.id, key, value }]))) setEditing(undefined);
                  }} />
                ) : (
                  <tr key={p.id}>
                    <td class="mono">{p.key}</td>
                    <td class="value mono">{p.value}</td>
                    <td>{p.sent ? <span class="ok">Sent</span> : <span class="muted">Not yet</span>}</td>
                    <td>
                      <span class="token-row">
                        <button type="button" class="btn small" onClick={() => setEditing(p.id)} aria-label={`Edit ${p.key}`}>
                          Edit
                        </button>
                        <button type="button" class="btn small" onClick={() => void run(() => put(base, [{ id: p.id, sent: !p.sent }]))} aria-label={`${p.sent ? "Mark not sent" : "Mark sent"}: ${p.key}`}>
                          {p.sent ? "Mark not sent" : "Mark sent"}
                        </button>
                        <button type="button" class="btn small danger" onClick={() => void run(() => del(`${base}/${seg(p.id)}`))} aria-label={`Delete ${p.key}`}>
                          Delete
                        </button>
                      </span>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
          {params.data && list.length === 0 && <p class="muted">No params yet.</p>}
        </div>
      </section>
      <AddParam onAdd={(key, value) => run(() => put(base, [{ key, value }]))} />
    </div>
  );
}

function EditRow({ param, onSave, onCancel }: { param: DeviceParamJson; onSave: (key: string, value: string) => Promise<void>; onCancel: () => void }) {
  const [key, setKey] = useState(param.key);
  const [value, setValue] = useState(param.value);
  return (
    <tr>
      <td>
        <input aria-label={`Key of ${param.key}`} value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      </td>
      <td class="value">
        <input aria-label={`Value of ${param.key}`} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </td>
      <td>{param.sent ? <span class="ok">Sent</span> : <span class="muted">Not yet</span>}</td>
      <td>
        <span class="token-row">
          <button type="button" class="btn small primary" onClick={() => void onSave(key, value)}>
            Save
          </button>
          <button type="button" class="btn small" onClick={onCancel}>
            Cancel
          </button>
        </span>
      </td>
    </tr>
  );
}

function AddParam({ onAdd }: { onAdd: (key: string, value: string) => Promise<boolean> }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await onAdd(key, value)) {
      setKey("");
      setValue("");
    }
  };
  return (
    <section class="card" aria-labelledby="add-param-title">
      <h2 id="add-param-title">Add a param</h2>
      <p class="muted small">A key that exists already gets the new value.</p>
      <form class="inline-form" onSubmit={submit}>
        <label>
          Key
          <input required maxLength={100} value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <label>
          Value
          <input required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <button type="submit" class="btn primary">
          Add param
        </button>
      </form>
    </section>
  );
}
