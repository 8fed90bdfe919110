/** The form of a device event trigger (mqtt_connect, mqtt_disconnect): rows selecting devices, by id or by tag. */
import type { DeviceEventTrigger, TriggerKind } from "../../../../src/http/api_types.js";
import { RowList } from "./row_list.js";
import { TargetField } from "./target_field.js";
import type { TriggerForm } from "./types.js";

const blank = (): DeviceEventTrigger => ({ device: "" });

export function deviceEventForm(kind: TriggerKind, label: string, help: string): TriggerForm {
  return {
    kind,
    label,
    help,
    initial: () => [blank()],
    Form: ({ draft, update }) => (
      <RowList
        rows={draft.trigger as DeviceEventTrigger[]}
        onChange={(trigger) => update({ trigger })}
        blank={blank}
        legend={(i) => `Devices ${i + 1}`}
        addLabel="Add devices"
        render={(row, set, i) => <TargetField row={row} set={set} index={i} />}
      />
    ),
  };
}
