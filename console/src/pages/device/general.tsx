/**
 * A device's General tab: its live state, settings (name, tags, active), tokens (create with a
 * permission and an expiry, shown once; revoke), how to connect, and deletion.
 */
import { useEffect, useState } from "preact/hooks";
import type { DeviceConnectionEvent, DeviceLastInputEvent, DeviceTokenCreatedJson, DeviceTokenJson, TagJson, TokenPermission } from "../../../../src/http/api_types.js";
import { del, get, post, put, seg } from "../../api/client.js";
import { ConnectionState } from "../../components/connection_state.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";
import { RelativeTime } from "../../components/relative_time.js";
import { cleanTags, TagsEditor } from "../../components/tags_editor.js";
import { useApi } from "../../hooks/use_api.js";
import { channel, eventsState } from "../../live/sse.js";
import { navigate } from "../../router.js";
import type { DeviceTabProps } from "../device.js";
import { freshToken } from "./fresh_token.js";
import { HowToConnect } from "./how_to_connect.js";
import "../../styles/devices.css";

export default function GeneralTab({ device, reload }: DeviceTabProps) {
  const [connected, setConnected] = useState(device.connected === true);
  const [lastInput, setLastInput] = useState<string | null>(device.last_input);
  useEffect(() => {
    setConnected(device.connected === true);
    setLastInput(device.last_input);
  }, [device]);
  // Once the live stream is (re)open, the device is loaded again: a change before it opened was not streamed.
  const live = eventsState.value;
  useEffect(() => {
    if (live === "open") reload();
  }, [live]);
  useEffect(() => {
    // `name.id` listeners get every event of `name` on the shared stream: keep this device's.
    const off1 = channel(`device_connection.${device.id}`, (payload) => {
      const e = payload as DeviceConnectionEvent;
      if (e?.device_id === device.id) setConnected(e.connected);
    });
    const off2 = channel(`device_last_input.${device.id}`, (payload) => {
      const e = payload as DeviceLastInputEvent;
      if (e?.device_id === device.id) setLastInput(e.last_input);
    });
    return () => {
      off1();
      off2();
    };
  }, [device.id]);

  // The token just created (here, or the device's first one on the devices page), shown once.
  const fresh = freshToken.value?.deviceId === device.id ? freshToken.value : undefined;
  useEffect(() => () => {
    if (freshToken.value?.deviceId === device.id) freshToken.value = undefined;
  }, [device.id]);

  return (
    <div class="device-sections">
      <div class="state-line" aria-live="polite">
        <ConnectionState connected={connected} />
        <span>
          Last input: <RelativeTime iso={lastInput} />
        </span>
        {!device.active && <span class="warn">Inactive: its tokens do not authenticate.</span>}
      </div>
      <Settings device={device} reload={reload} />
      <Tokens deviceId={device.id} />
      <HowToConnect token={fresh?.token} />
      <DeleteDevice id={device.id} name={device.name} />
    </div>
  );
}

function Settings({ device, reload }: DeviceTabProps) {
  const [name, setName] = useState(device.name);
  const [active, setActive] = useState(device.active);
  const [tags, setTags] = useState<TagJson[]>(device.tags);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setName(device.name);
    setActive(device.active);
    setTags(device.tags);
  }, [device]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      await put(`/device/${seg(device.id)}`, { name, active, tags: cleanTags(tags) });
      setSaved(true);
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form onSubmit={submit}>
        <label>
          Name
          <input required value={name} onInput={(e) => (setName(e.currentTarget.value), setSaved(false))} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={active} onChange={(e) => (setActive(e.currentTarget.checked), setSaved(false))} />
          Active (an inactive device's tokens are refused and its connections closed)
        </label>
        <TagsEditor tags={tags} onChange={(t) => (setTags(t), setSaved(false))} />
        <ErrorText error={error} />
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          <span role="status" class="ok">{saved ? "Saved" : ""}</span>
        </div>
      </form>
    </section>
  );
}

const EXPIRIES = [
  { value: "never", label: "Never" },
  { value: "1 day", label: "In a day" },
  { value: "1 week", label: "In a week" },
  { value: "1 month", label: "In a month" },
  { value: "1 year", label: "In a year" },
  { value: "date", label: "On a date…" },
];

function Tokens({ deviceId }: { deviceId: string }) {
  const tokens = useApi((signal) => get<DeviceTokenJson[]>(`/device/token/${seg(deviceId)}`, { amount: 1000 }, signal), [deviceId]);
  const [name, setName] = useState("");
  const [permission, setPermission] = useState<TokenPermission>("full");
  const [expiry, setExpiry] = useState("never");
  const [date, setDate] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const fresh = freshToken.value?.deviceId === deviceId ? freshToken.value : undefined;

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      // A date means the end of that day where the user is.
      const expire_time = expiry === "date" ? new Date(`${date}T23:59:59`).toISOString() : expiry;
      const created = await post<DeviceTokenCreatedJson>("/device/token", { device: deviceId, name: name || "Token", permission, expire_time });
      freshToken.value = { deviceId, ...created };
      setName("");
      tokens.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (token: DeviceTokenJson) => {
    setError(undefined);
    try {
      await del(`/device/token/${seg(token.id)}`);
      setConfirming(undefined);
      tokens.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      {fresh && (
        <div class="fresh-token" role="status">
          <p>
            <strong>New token “{fresh.name}”</strong> ({fresh.permission}, expires {fresh.expire_date === "never" ? "never" : new Date(fresh.expire_date).toLocaleString()}). It is shown
            only now: copy it.
          </p>
          <div class="token-row">
            <code data-testid="fresh-token">{fresh.token}</code>
            <CopyButton text={fresh.token} label="the new token" />
            <button type="button" class="btn small" onClick={() => (freshToken.value = undefined)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ErrorText error={tokens.error ?? error} />
      <div class="table-wrap">
        <table class="grid" aria-label="Tokens of this device">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Token</th>
              <th scope="col">Permission</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(tokens.data ?? []).map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td class="mono">{t.token}</td>
                <td>{t.permission}</td>
                <td>{t.expire_time === "never" ? "never" : new Date(t.expire_time).toLocaleDateString()}</td>
                <td>
                  <RelativeTime iso={t.last_authorization} />
                </td>
                <td>
                  {confirming === t.id ? (
                    <span class="token-row">
                      <button type="button" class="btn small danger" onClick={() => void revoke(t)} aria-label={`Revoke now: token ${t.name}`}>
                        Revoke now
                      </button>
                      <button type="button" class="btn small" onClick={() => setConfirming(undefined)}>
                        Keep
                      </button>
                    </span>
                  ) : (
                    <button type="button" class="btn small danger" onClick={() => setConfirming(t.id)} aria-label={`Revoke token ${t.name} (${t.token})`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {tokens.data?.length === 0 && <p class="muted">No tokens: the device cannot connect until it has one.</p>}
      </div>
      <h3>New token</h3>
      <form class="inline-form" onSubmit={create}>
        <label>
          Token name
          <input value={name} placeholder="Token" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Permission
          <select value={permission} onChange={(e) => setPermission(e.currentTarget.value as TokenPermission)}>
            <option value="full">Full (publish and subscribe)</option>
            <option value="write">Write (publish only)</option>
            <option value="read">Read (subscribe only)</option>
          </select>
        </label>
        <label>
          Expires
          <select value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
            {EXPIRIES.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        {expiry === "date" && (
          <label>
            Expiry date
            <input type="date" required value={date} min={new Date().toISOString().slice(0, 10)} onInput={(e) => setDate(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? "Creating…" : "Create token"}
        </button>
      </form>
    </section>
  );
}

function DeleteDevice({ id, name }: { id: string; name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const remove = async () => {
    try {
      await del(`/device/${seg(id)}`);
      navigate("/devices");
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete this device</h2>
      <p class="muted">Its data, params and tokens go with it; connected clients are disconnected. This cannot be undone.</p>
      <ErrorText error={error} />
      {confirming ? (
        <div class="form-actions">
          <button type="button" class="btn danger" onClick={() => void remove()}>
            Delete “{name}” for good
          </button>
          <button type="button" class="btn" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" class="btn danger" onClick={() => setConfirming(true)}>
          Delete device
        </button>
      )}
    </section>
  );
}
