/** Trigger schedule: a cron expression in a time zone. */
import type { ScheduleTrigger } from "../../../../src/http/api_types.js";
import { text, type TriggerForm } from "./types.js";

/** The browser's zones, when it can list them (every evergreen browser can). */
const ZONES: string[] = (() => {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  try {
    return ["UTC", ...(intl.supportedValuesOf?.("timeZone") ?? [])];
  } catch {
    return ["UTC"];
  }
})();

export const scheduleTrigger: TriggerForm = {
  kind: "schedule",
  label: "On a schedule (cron)",
  help: "Runs at the times a cron expression names, in its time zone, with no device and no records.",
  initial: () => [{ cron: "0 8 * * *", timezone: "UTC" }],
  Form: ({ draft, update }) => {
    const row = (draft.trigger[0] ?? { cron: "", timezone: "UTC" }) as ScheduleTrigger;
    const set = (patch: Partial<ScheduleTrigger>) => update({ trigger: [{ ...row, ...patch }] });
    return (
      <div class="form-pair top">
        <div class="field">
          <label>
            Cron expression
            <input type="text" class="mono" value={text(row.cron)} aria-describedby="cron-hint" onInput={(e) => set({ cron: e.currentTarget.value })} />
          </label>
          <small class="muted hint" id="cron-hint">
            minute hour day-of-month month day-of-week (a first field of seconds is allowed): <code>0 8 * * 1-5</code> is 08:00 on weekdays.
          </small>
        </div>
        <label>
          Time zone
          <input type="text" value={text(row.timezone)} list="timezone-options" onInput={(e) => set({ timezone: e.currentTarget.value })} />
        </label>
        <datalist id="timezone-options">
          {ZONES.map((z) => <option key={z} value={z} />)}
        </datalist>
      </div>
    );
  },
};
