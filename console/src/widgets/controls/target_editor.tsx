/** The editor fields of a control's target (downlink or variable) and confirmation, shared by the control types. */
import { useRef } from "preact/hooks";
import "../../styles/widget_parts.css";
import { HintedField } from "../hinted_field.js";
import type { WidgetSourceJson } from "../../../../src/http/api_types.js";
import type { ControlTarget } from "./target.js";

let lists = 0;

export function TargetEditor<O extends ControlTarget>(props: { options: O; onChange(options: O): void; variableHint: string; sources: WidgetSourceJson[] }) {
  const { options: o, onChange } = props;
  const listId = useRef(`control-variables-${++lists}`).current;
  const offered = [...new Set(props.sources.flatMap((s) => s.variables ?? []))];
  const set = (patch: Partial<ControlTarget>) => onChange({ ...o, ...patch });
  const setDownlink = (patch: Partial<ControlTarget["downlink"]>) => set({ downlink: { ...o.downlink, ...patch } });
  return (
    <>
      <fieldset class="widget-fieldset">
        <legend>Sends</legend>
        <label class="inline">
          <input type="radio" name="control-target" checked={o.target === "downlink"} onChange={() => set({ target: "downlink" })} />
          an MQTT message to the device
        </label>
        <label class="inline">
          <input type="radio" name="control-target" checked={o.target === "variable"} onChange={() => set({ target: "variable" })} />
          a record of a variable
        </label>
      </fieldset>
      <HintedField label="Variable" hint={props.variableHint}>
        {(ids) => <input {...ids} value={o.variable} maxLength={100} list={listId} onInput={(e) => set({ variable: e.currentTarget.value.trim().toLowerCase() })} required={o.target === "variable"} />}
      </HintedField>
      <datalist id={listId}>
        {offered.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      {o.target === "downlink" && (
        <>
          <HintedField label="Topic" hint={<>No + or # wildcards. {"{{value}}"} and {"{{device}}"} are replaced when sent.</>}>
            {(ids) => <input {...ids} value={o.downlink.topic} maxLength={1024} onInput={(e) => setDownlink({ topic: e.currentTarget.value })} required />}
          </HintedField>
          <label>
            Payload
            <textarea rows={3} value={o.downlink.payload} onInput={(e) => setDownlink({ payload: e.currentTarget.value })} />
          </label>
          <label>
            QoS
            <select value={String(o.downlink.qos)} onChange={(e) => setDownlink({ qos: Number(e.currentTarget.value) as 0 | 1 | 2 })}>
              <option value="0">0: at most once</option>
              <option value="1">1: at least once</option>
              <option value="2">2: exactly once</option>
            </select>
          </label>
          <label class="inline">
            <input type="checkbox" checked={o.downlink.retain} onChange={(e) => setDownlink({ retain: e.currentTarget.checked })} />
            Retain (the broker keeps the last message for devices connecting later)
          </label>
        </>
      )}
      <label class="inline">
        <input type="checkbox" checked={o.confirm} onChange={(e) => set({ confirm: e.currentTarget.checked })} />
        Ask for confirmation before sending
      </label>
      {o.confirm && (
        <label>
          Confirmation question
          <input value={o.confirm_text} maxLength={200} onInput={(e) => set({ confirm_text: e.currentTarget.value })} />
        </label>
      )}
    </>
  );
}
