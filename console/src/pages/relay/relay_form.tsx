/**
 * The relay's settings as a form: broker, credentials (write-only), TLS files, what to
 * subscribe to and how a message names its device, downlink, and the rest under "Advanced".
 */
import type { RelayJson, RelayKeyMatch } from "../../../../src/http/api_types.js";
import { PemField } from "./pem_field.js";
import { subscriptionRow, withHost, type Draft, type SecretChange } from "./draft.js";

export interface RelayFormProps {
  draft: Draft;
  onChange: (draft: Draft) => void;
  /** The relay as stored, when editing (whether a password or key is stored). */
  stored?: RelayJson;
}

export function RelayForm({ draft: d, onChange, stored }: RelayFormProps) {
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => onChange({ ...d, [key]: value });
  const text = (key: keyof Draft) => (e: Event) => set(key, (e.currentTarget as HTMLInputElement).value as never);
  const check = (key: keyof Draft) => (e: Event) => set(key, (e.currentTarget as HTMLInputElement).checked as never);
  const secret = (key: "password" | "key", change: SecretChange) => set(key, change);
  const passwordStored = stored?.password != null;

  return (
    <div class="relay-form">
      <fieldset>
        <legend>Relay</legend>
        <div class="form-row">
          <label>
            Name
            <input required maxLength={200} value={d.name} onInput={text("name")} />
          </label>
        </div>
        <label class="inline">
          <input type="checkbox" checked={d.active} onChange={check("active")} />
          Active (connects now; off: disconnected and kept)
        </label>
      </fieldset>

      <fieldset>
        <legend>Broker</legend>
        <div class="form-row">
          <label>
            Host or broker URL
            <input
              required
              value={d.host}
              onInput={text("host")}
              // On leaving the field (or a paste's commit), not while typing "mqtt://b…".
              onChange={(e) => onChange(withHost(d, e.currentTarget.value))}
              placeholder="broker.example.com or mqtts://broker:8883"
              autoComplete="off"
              spellcheck={false}
            />
          </label>
          <label>
            Port
            <input inputMode="numeric" value={d.port} onInput={text("port")} placeholder={d.tls ? "8883" : "1883"} />
          </label>
        </div>
        <div class="form-row">
          <label>
            MQTT version
            <select value={String(d.protocol_version)} onChange={(e) => set("protocol_version", e.currentTarget.value === "5" ? 5 : 4)}>
              <option value="4">3.1.1</option>
              <option value="5">5</option>
            </select>
          </label>
          <label>
            Client id
            <input value={d.client_id} onInput={text("client_id")} placeholder={stored ? "" : "sluice-relay-<id>"} spellcheck={false} />
          </label>
        </div>
        <p class="hint">Keep the client id stable: the broker keeps the relay's persistent session under it.</p>
        <label class="inline">
          <input type="checkbox" checked={d.tls} onChange={check("tls")} />
          TLS (the server's certificate is always verified)
        </label>
      </fieldset>

      <fieldset>
        <legend>Credentials</legend>
        <div class="form-row">
          <label>
            Username
            <input value={d.username} onInput={text("username")} autoComplete="off" spellcheck={false} />
          </label>
          <label>
            Password
            <input
              type="password"
              autoComplete="new-password"
              value={d.password.kind === "set" ? d.password.value : ""}
              placeholder={passwordStored && d.password.kind === "keep" ? "Stored: type to replace" : d.password.kind === "clear" ? "Will be removed" : ""}
              onInput={(e) => {
                const value = e.currentTarget.value;
                secret("password", value === "" ? { kind: "keep" } : { kind: "set", value });
              }}
              aria-describedby="password-hint"
            />
          </label>
        </div>
        <p class="hint" id="password-hint">
          Write-only: Sluice never shows a stored password back. {passwordStored ? "Leave it empty to keep it." : ""}
        </p>
        {passwordStored && (
          <label class="inline">
            <input type="checkbox" checked={d.password.kind === "clear"} onChange={(e) => secret("password", e.currentTarget.checked ? { kind: "clear" } : { kind: "keep" })} />
            Remove the stored password
          </label>
        )}
      </fieldset>

      <fieldset>
        <legend>TLS files</legend>
        <PemField label="CA certificate" value={d.ca} onValue={(pem) => set("ca", pem)} hint="Verifies the broker; without one the system's CAs do." />
        <PemField label="Client certificate" value={d.cert} onValue={(pem) => set("cert", pem)} hint="For brokers that authenticate clients by certificate." />
        <PemField
          label="Client key"
          secret={{
            stored: stored?.key != null,
            change: d.key.kind,
            onSet: (pem) => secret("key", { kind: "set", value: pem }),
            onClear: () => secret("key", { kind: "clear" }),
            onKeep: () => secret("key", { kind: "keep" }),
          }}
          hint="Write-only, stored encrypted."
        />
      </fieldset>

      <fieldset>
        <legend>Topics and devices</legend>
        <p class="hint">Topic filters Sluice subscribes to on the broker (+ and # allowed).</p>
        <ul class="sub-list">
          {d.subscriptions.map((s, i) => (
            <li key={s.row} class="sub-row">
              <input
                aria-label={`Subscription ${i + 1} topic filter`}
                value={s.topic}
                placeholder="plant/+/up"
                class="mono"
                spellcheck={false}
                onInput={(e) => set("subscriptions", d.subscriptions.map((x) => (x.row === s.row ? { ...x, topic: e.currentTarget.value } : x)))}
              />
              <select
                aria-label={`Subscription ${i + 1} QoS`}
                value={String(s.qos)}
                onChange={(e) => set("subscriptions", d.subscriptions.map((x) => (x.row === s.row ? { ...x, qos: Number(e.currentTarget.value) as 0 | 1 | 2 } : x)))}
              >
                <option value="0">QoS 0</option>
                <option value="1">QoS 1</option>
                <option value="2">QoS 2 (as 1)</option>
              </select>
              <button type="button" class="btn small danger" aria-label={`Remove subscription ${i + 1}${s.topic ? ` (${s.topic})` : ""}`} onClick={() => set("subscriptions", d.subscriptions.filter((x) => x.row !== s.row))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <button type="button" class="btn small" onClick={() => set("subscriptions", [...d.subscriptions, subscriptionRow()])}>
          Add topic
        </button>

        <div class="form-row">
          <label>
            Device named by
            <select value={d.source} onChange={(e) => set("source", e.currentTarget.value as Draft["source"])}>
              <option value="topic">a level of the topic</option>
              <option value="json">a field of the JSON payload</option>
              <option value="fixed">one fixed device</option>
            </select>
          </label>
          {d.source === "topic" && (
            <label>
              Topic level (0 first, -1 last)
              <input inputMode="numeric" value={d.index} onInput={text("index")} />
            </label>
          )}
          {d.source === "json" && (
            <label>
              Payload field (dot path)
              <input value={d.field} onInput={text("field")} placeholder="meta.serial" spellcheck={false} />
            </label>
          )}
          {d.source === "fixed" && (
            <label>
              Device id
              <input value={d.device} onInput={text("device")} spellcheck={false} class="mono" />
            </label>
          )}
        </div>
        {d.source !== "fixed" && (
          <div class="form-row">
            <label>
              Compared with the device's
              <select value={d.match} onChange={(e) => set("match", e.currentTarget.value as RelayKeyMatch)}>
                <option value="serial">token serial number</option>
                <option value="tag">tag value</option>
                <option value="id">id</option>
              </select>
            </label>
            {d.match === "tag" && (
              <label>
                Tag key
                <input value={d.tag_key} onInput={text("tag_key")} spellcheck={false} />
              </label>
            )}
          </div>
        )}
      </fieldset>

      <fieldset>
        <legend>Downlink</legend>
        <label>
          Downlink topic
          <input value={d.downlink_topic} onInput={text("downlink_topic")} placeholder="plant/$SERIAL$/down" class="mono" spellcheck={false} aria-describedby="downlink-hint" />
        </label>
        <p class="hint" id="downlink-hint">
          What the platform publishes to a relayed device goes here; $SERIAL$, $DEVICE$ and $TOPIC$ are filled in. Empty: no downlink.
        </p>
        <label class="inline">
          <input type="checkbox" checked={d.forward_to_broker} onChange={check("forward_to_broker")} />
          Also route relayed messages to this account's own MQTT subscribers
        </label>
      </fieldset>

      <details class="advanced">
        <summary>Advanced</summary>
        <div class="form-row">
          <label>
            Keep-alive (s)
            <input inputMode="numeric" value={d.keepalive} onInput={text("keepalive")} />
          </label>
          <label>
            Downlink queue (messages)
            <input inputMode="numeric" value={d.max_queue} onInput={text("max_queue")} />
          </label>
        </div>
        <div class="form-row">
          <label>
            First retry after (ms)
            <input inputMode="numeric" value={d.reconnect_min_ms} onInput={text("reconnect_min_ms")} />
          </label>
          <label>
            Longest retry wait (ms)
            <input inputMode="numeric" value={d.reconnect_max_ms} onInput={text("reconnect_max_ms")} />
          </label>
        </div>
        <label class="inline">
          <input type="checkbox" checked={d.clean} onChange={check("clean")} />
          Clean session (the broker keeps nothing while the relay is away)
        </label>
      </details>
    </div>
  );
}

