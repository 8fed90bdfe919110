/** Trigger interval: every so often ("5 minutes"), from when the action is saved. */
import type { IntervalTrigger } from "../../../../src/http/api_types.js";
import { text, type TriggerForm } from "./types.js";

export const intervalTrigger: TriggerForm = {
  kind: "interval",
  label: "Every interval",
  help: "Runs repeatedly, every interval, with no device and no records.",
  initial: () => [{ interval: "5 minutes" }],
  Form: ({ draft, update }) => {
    const row = (draft.trigger[0] ?? { interval: "" }) as IntervalTrigger;
    return (
      <>
        <label>
          Interval
          <input type="text" value={text(row.interval)} list="interval-options" aria-describedby="interval-hint" onInput={(e) => update({ trigger: [{ interval: e.currentTarget.value }] })} />
        </label>
        <small class="muted hint" id="interval-hint">A number and a unit: seconds, minutes, hours, days, weeks, months (at least 1 second).</small>
        <datalist id="interval-options">
          {["30 seconds", "1 minute", "5 minutes", "15 minutes", "1 hour", "6 hours", "1 day", "1 week"].map((v) => <option key={v} value={v} />)}
        </datalist>
      </>
    );
  },
};
