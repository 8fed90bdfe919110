/**
 * Where a control (push button, switch, slider) sends its value, kept in its `display`: either
 * its MQTT downlink (`display.downlink`, WidgetDownlinkJson, published by the server to the
 * device the widget reads) or a record of `variable` stored for that device. `variable` is also
 * the one whose last value a switch or slider shows.
 */
import type { WidgetDownlinkJson } from "../../../../src/http/api_types.js";
import { finite, flag, oneOf, record, text } from "../display_read.js";

export const TARGETS = ["downlink", "variable"] as const;
export type TargetKind = (typeof TARGETS)[number];

export interface ControlTarget {
  target: TargetKind;
  /** The variable written (target "variable") and whose last value is shown. */
  variable: string;
  downlink: WidgetDownlinkJson;
  /** Ask before sending. */
  confirm: boolean;
  confirm_text: string;
}

export function defaultTarget(): ControlTarget {
  return {
    target: "downlink",
    variable: "",
    downlink: { topic: "devices/{{device}}/command", payload: "{{value}}", qos: 0, retain: false },
    confirm: false,
    confirm_text: "Send this to the device?",
  };
}

export function parseTarget(display: unknown): ControlTarget {
  const d = record(display);
  const base = defaultTarget();
  const dl = record(d.downlink);
  const qos = dl.qos === 1 || dl.qos === 2 ? dl.qos : 0;
  return {
    target: oneOf(d.target, TARGETS, d.downlink === undefined && typeof d.variable === "string" && d.variable !== "" ? "variable" : base.target),
    variable: text(d.variable, "", 100),
    downlink: {
      topic: text(dl.topic, base.downlink.topic, 1024),
      payload: text(dl.payload, base.downlink.payload, 64 * 1024),
      qos: finite(qos, 0) as 0 | 1 | 2,
      retain: flag(dl.retain, false),
    },
    confirm: flag(d.confirm, false),
    confirm_text: text(d.confirm_text, base.confirm_text, 200),
  };
}
