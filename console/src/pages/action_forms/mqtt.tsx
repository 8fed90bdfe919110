/** Action mqtt: publishes a message to the account's subscribers, or only to one device's. */
import { DeviceField } from "./device_field.js";
import { Placeholders } from "./placeholders.js";
import { text, type ActionForm } from "./types.js";

export const mqttAction: ActionForm = {
  type: "mqtt",
  label: "Publish an MQTT message",
  help: "Publishes a message on a topic, to every subscriber of the account or only to one device's sessions.",
  initial: () => ({ type: "mqtt", topic: "", payload: "", qos: 0, retain: false }),
  Form: ({ params, update }) => (
    <>
      <label>
        Topic
        <input type="text" class="mono" value={text(params.topic)} onInput={(e) => update({ ...params, topic: e.currentTarget.value })} />
      </label>
      <label>
        Payload
        <textarea rows={4} value={text(params.payload)} onInput={(e) => update({ ...params, payload: e.currentTarget.value })} />
      </label>
      <div class="form-row">
        <label>
          QoS
          <select value={text(params.qos ?? 0)} onChange={(e) => update({ ...params, qos: Number(e.currentTarget.value) })}>
            <option value="0">0: at most once</option>
            <option value="1">1: at least once</option>
            <option value="2">2: exactly once</option>
          </select>
        </label>
        <label class="inline">
          <input type="checkbox" checked={params.retain === true} onChange={(e) => update({ ...params, retain: e.currentTarget.checked })} />
          Retain
        </label>
      </div>
      <DeviceField
        label="Only to this device (optional)"
        value={text(params.bucket)}
        hint="Empty: every subscriber of the account."
        onChange={(bucket) => {
          const { bucket: _old, ...rest } = params;
          update(bucket === "" ? { ...rest, type: params.type } : { ...params, bucket });
        }}
      />
      <Placeholders />
    </>
  ),
};
