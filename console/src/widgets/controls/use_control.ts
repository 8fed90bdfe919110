/**
 * A control's state and its one action: the last value of its variable (loaded through the
 * widget's data, kept live), the device it acts on, and `send`, which publishes the downlink or
 * stores a record, with what went wrong kept for the control to show inline.
 */
import { useState } from "preact/hooks";
import type { DataRecordJson, RecordValueJson, WidgetJson, WidgetSourceResultJson } from "../../../../src/http/api_types.js";
import type { WidgetContext } from "../types.js";
import { useWidgetData } from "../use_widget_data.js";
import type { ControlTarget } from "./target.js";

/** Records read to find the variable's newest (a source may list several variables). */
const LOOKBACK = 50;

export interface LastValue {
  value: RecordValueJson | undefined;
  time: string | undefined;
  /** The device the widget's first source reads (for a blueprint slot: the one shown). */
  device: string | undefined;
}

export interface Control {
  last: LastValue | undefined;
  loadError: string | undefined;
  busy: boolean;
  error: string | undefined;
  /** Set after a send succeeded, until the next one. */
  sent: boolean;
  send(value: string | number | boolean): Promise<boolean>;
}

function newest(records: readonly DataRecordJson[], variable: string): DataRecordJson | undefined {
  return records.find((r) => variable === "" || r.variable === variable);
}

export function readLast(results: WidgetSourceResultJson[], variable: string): LastValue {
  const first = results[0];
  const records = Array.isArray(first?.result) ? (first.result as DataRecordJson[]) : [];
  const found = newest(records, variable);
  return { value: found?.value, time: found?.time, device: first?.device ?? undefined };
}

export function useControl(ctx: WidgetContext, widget: WidgetJson, target: ControlTarget): Control {
  const { data, error: loadError } = useWidgetData<LastValue>(ctx, widget, {
    query: { qty: LOOKBACK },
    read: (results) => readLast(results, target.variable),
    merge: (current, records) => {
      // On a blueprint dashboard the channel carries every device fitting the slot: only the one shown counts.
      let next = current;
      for (const r of records) {
        if (target.variable !== "" && r.variable !== target.variable) continue;
        if (current.device !== undefined && r.device !== current.device) continue;
        if (next.time === undefined || r.time >= next.time) next = { ...next, value: r.value, time: r.time };
      }
      return next;
    },
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [sent, setSent] = useState(false);

  const send = async (value: string | number | boolean): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    setSent(false);
    try {
      if (target.target === "downlink") {
        await ctx.publish(widget.id, value);
      } else {
        if (target.variable === "") throw new Error("No variable is set for this control: edit the widget.");
        const origin = deviceOf(ctx, widget, data);
        if (origin === undefined) throw new Error("This widget reads no device.");
        await ctx.sendData(widget.id, [{ origin, variable: target.variable, value }]);
      }
      setSent(true);
      return true;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    } finally {
      setBusy(false);
    }
  };

  return { last: data, loadError, busy, error, sent, send };
}

/** The device records go to: the blueprint pick, else the device the data came from, else the source's origin. */
export function deviceOf(ctx: WidgetContext, widget: WidgetJson, last: { device: string | undefined } | undefined): string | undefined {
  const origin = widget.data[0]?.origin;
  if (origin === undefined) return undefined;
  return ctx.blueprintPicks[origin] ?? last?.device ?? origin;
}
