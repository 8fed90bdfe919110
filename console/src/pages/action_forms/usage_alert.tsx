/** Trigger usage_alert: the account's use of a plan limit crosses a share of it. */
import type { UsageAlertTrigger, UsageService } from "../../../../src/http/api_types.js";
import { RowList } from "./row_list.js";
import { numberField, text, type TriggerForm } from "./types.js";

const SERVICES: { value: UsageService; label: string }[] = [
  { value: "data_records", label: "Data records this month" },
  { value: "analysis", label: "Analysis runs this month" },
  { value: "push_notification", label: "Notifications this month" },
  { value: "email", label: "Emails this month" },
  { value: "device", label: "Devices" },
];

const blank = (): UsageAlertTrigger => ({ service_or_resource: "data_records", condition: ">", condition_value: 80 });

export const usageAlertTrigger: TriggerForm = {
  kind: "usage_alert",
  label: "Usage of the plan",
  help: "Runs once when the account's use of a plan limit goes above (or reaches) a share of it; again after the monthly reset.",
  initial: () => [blank()],
  Form: ({ draft, update }) => (
    <RowList
      rows={draft.trigger as UsageAlertTrigger[]}
      onChange={(trigger) => update({ trigger })}
      blank={blank}
      legend={(i) => `Alert ${i + 1}`}
      addLabel="Add an alert"
      render={(row, set) => (
        <div class="form-row">
          <label>
            Limit
            <select value={row.service_or_resource} onChange={(e) => set({ ...row, service_or_resource: e.currentTarget.value as UsageService })}>
              {SERVICES.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
            </select>
          </label>
          <label>
            When use
            <select value={row.condition} onChange={(e) => set({ ...row, condition: e.currentTarget.value === "=" ? "=" : ">" })}>
              <option value=">">goes above</option>
              <option value="=">reaches</option>
            </select>
          </label>
          <label>
            Percent of the limit
            <input type="text" inputMode="decimal" value={text(row.condition_value)} onInput={(e) => set({ ...row, condition_value: numberField(e.currentTarget.value) })} />
          </label>
        </div>
      )}
    />
  ),
};
