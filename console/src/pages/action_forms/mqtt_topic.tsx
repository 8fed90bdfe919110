/** Trigger mqtt_topic: a message published by a selected device on a matching topic (wildcards allowed). */
import type { MqttTopicTrigger } from "../../../../src/http/api_types.js";
import { RowList } from "./row_list.js";
import { TargetField } from "./target_field.js";
import { text, type TriggerForm } from "./types.js";

const blank = (): MqttTopicTrigger => ({ topic: "", device: "" });

export const mqttTopicTrigger: TriggerForm = {
  kind: "mqtt_topic",
  label: "MQTT message on a topic",
  help: "Runs for each message a selected device publishes on a matching topic; its records (after the device's payload parser) go to the action.",
  initial: () => [blank()],
  Form: ({ draft, update }) => (
    <RowList
      rows={draft.trigger as MqttTopicTrigger[]}
      onChange={(trigger) => update({ trigger })}
      blank={blank}
      legend={(i) => `Topic ${i + 1}`}
      addLabel="Add a topic"
      render={(row, set, i) => (
        <>
          <label>
            Topic filter
            <input type="text" class="mono" value={text(row.topic)} placeholder="sensors/# or sensors/+/temperature" onInput={(e) => set({ ...row, topic: e.currentTarget.value })} />
          </label>
          <TargetField row={row} set={set} index={i} />
        </>
      )}
    />
  ),
};
