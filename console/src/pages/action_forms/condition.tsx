/**
 * Trigger condition: a record of a device's variable meets a condition. With unlock rows the
 * action locks after firing and fires again only once an unlock row has been met (and, if
 * asked, also runs then): TagoIO's lock/unlock.
 */
import type { Conditional, ConditionTrigger } from "../../../../src/http/api_types.js";
import { DeviceField } from "./device_field.js";
import { RowList } from "./row_list.js";
import { text, type TriggerForm } from "./types.js";

const OPERATORS: { is: Conditional; label: string }[] = [
  { is: "<", label: "less than" },
  { is: ">", label: "greater than" },
  { is: "=", label: "equal to" },
  { is: "!", label: "different from" },
  { is: "><", label: "between" },
  { is: "*", label: "any value" },
];
const VALUE_TYPES: { value: ConditionTrigger["value_type"]; label: string }[] = [
  { value: "*", label: "as the record holds it" },
  { value: "number", label: "number" },
  { value: "string", label: "text" },
  { value: "boolean", label: "boolean" },
];

const blank = (unlock: boolean): ConditionTrigger => ({ device: "", variable: "", is: ">", value: "", value_type: "number", unlock });

function ConditionRow({ row, set }: { row: ConditionTrigger; set: (row: ConditionTrigger) => void }) {
  return (
    <div class="form-row">
      <DeviceField label="Device" value={text(row.device)} onChange={(device) => set({ ...row, device })} />
      <label>
        Variable
        <input type="text" value={text(row.variable)} onInput={(e) => set({ ...row, variable: e.currentTarget.value })} />
      </label>
      <label>
        Is
        <select value={row.is} onChange={(e) => set({ ...row, is: e.currentTarget.value as Conditional })}>
          {OPERATORS.map((o) => <option key={o.is} value={o.is}>{o.label}</option>)}
        </select>
      </label>
      {row.is !== "*" && (
        <label>
          {row.is === "><" ? "From" : "Value"}
          <input type="text" value={text(row.value)} onInput={(e) => set({ ...row, value: e.currentTarget.value })} />
        </label>
      )}
      {row.is === "><" && (
        <label>
          To
          <input type="text" value={text(row.second_value)} onInput={(e) => set({ ...row, second_value: e.currentTarget.value })} />
        </label>
      )}
      <label>
        Compare as
        <select value={row.value_type} onChange={(e) => set({ ...row, value_type: e.currentTarget.value as ConditionTrigger["value_type"] })}>
          {VALUE_TYPES.map((v) => <option key={v.value} value={v.value}>{v.label}</option>)}
        </select>
      </label>
    </div>
  );
}

export const conditionTrigger: TriggerForm = {
  kind: "condition",
  label: "Variable condition",
  help: "Runs when a device stores a record of the variable that meets the condition.",
  initial: () => [blank(false)],
  Form: ({ draft, update }) => {
    const rows = draft.trigger as ConditionTrigger[];
    const triggers = rows.filter((r) => !r.unlock);
    const unlocks = rows.filter((r) => r.unlock);
    return (
      <>
        <RowList
          rows={triggers}
          onChange={(next) => update({ trigger: [...next, ...unlocks] })}
          blank={() => blank(false)}
          legend={(i) => `Condition ${i + 1}`}
          addLabel="Add a condition"
          render={(row, set) => <ConditionRow row={row} set={set} />}
        />
        <h3 class="form-subtitle">Unlock (optional)</h3>
        <p class="muted small">
          With unlock conditions the action fires once, locks, and fires again only after an unlock condition has been met.
        </p>
        <RowList
          rows={unlocks}
          min={0}
          onChange={(next) => update({ trigger: [...triggers, ...next] })}
          blank={() => blank(true)}
          legend={(i) => `Unlock condition ${i + 1}`}
          addLabel="Add an unlock condition"
          render={(row, set) => <ConditionRow row={row} set={set} />}
        />
        {unlocks.length > 0 && (
          <label class="inline">
            <input type="checkbox" checked={draft.trigger_when_unlock} onChange={(e) => update({ trigger_when_unlock: e.currentTarget.checked })} />
            Also run the action when it unlocks
          </label>
        )}
      </>
    );
  },
};
