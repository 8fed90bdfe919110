/**
 * A widget's data sources, shared by every type that reads data: which device (or blueprint
 * slot), which variables, what query (the kinds of `GET /data`), how many records, and over
 * which time range. Devices come from the account's list, or are added all at once by a tag.
 * A type whose `sources` is "one" gets one source and no add/remove.
 */
import { useState } from "preact/hooks";
import type { BlueprintDeviceJson, WidgetSourceJson } from "../../../../src/http/api_types.js";
import { get } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import type { SourcesArity } from "../../widgets/types.js";
import { QUERY_KINDS } from "../device/data/query.js";
import { fromLocalInput, RANGE_PRESETS, toLocalInput } from "../../dashboard/range_presets.js";

export interface DeviceOption {
  id: string;
  name: string;
}

export interface SourcesFormProps {
  sources: WidgetSourceJson[];
  onChange(sources: WidgetSourceJson[]): void;
  arity: Exclude<SourcesArity, "none">;
  devices: DeviceOption[];
  slots: BlueprintDeviceJson[];
}

/** Most devices one "add by tag" adds (a widget holds at most 50 sources). */
const MAX_BY_TAG = 50;

export function SourcesForm({ sources, onChange, arity, devices, slots }: SourcesFormProps) {
  const [tagKey, setTagKey] = useState("");
  const [tagValue, setTagValue] = useState("");
  const [tagError, setTagError] = useState<unknown>(undefined);
  const [tagNote, setTagNote] = useState("");
  const list = sources.length > 0 ? sources : [{ origin: "" }];
  const set = (i: number, part: Partial<WidgetSourceJson>) => {
    const next = list.map((s, j) => {
      if (j !== i) return s;
      const merged: WidgetSourceJson = { ...s, ...part };
      for (const [k, v] of Object.entries(part)) if (v === undefined) delete merged[k];
      return merged;
    });
    onChange(next);
  };

  const addByTag = async () => {
    setTagError(undefined);
    setTagNote("");
    try {
      const found = await get<DeviceOption[]>("/device", { fields: "id,name", amount: MAX_BY_TAG, filter: { tags: [{ key: tagKey.trim(), value: tagValue }] } });
      const template = list[0]!;
      const have = new Set(sources.map((s) => s.origin));
      const added = found.filter((d) => !have.has(d.id)).map((d) => ({ ...template, origin: d.id }));
      onChange([...sources.filter((s) => s.origin !== ""), ...added]);
      setTagNote(found.length === 0 ? "No device has that tag." : `${added.length} device${added.length === 1 ? "" : "s"} added.`);
    } catch (err) {
      setTagError(err);
    }
  };

  return (
    <fieldset class="sources-form">
      <legend>Data {arity === "one" ? "source" : "sources"}</legend>
      {list.map((source, i) => {
        const n = arity === "one" ? "" : ` ${i + 1}`;
        const preset = typeof source.start_date === "string" && RANGE_PRESETS.some((p) => p.value === source.start_date) ? source.start_date : source.start_date === undefined ? "" : "custom";
        return (
          <div class="source-row" key={i} role="group" aria-label={`Source${n}`}>
            <div class="form-row">
              <label>
                Device{n}
                <select value={source.origin} onChange={(e) => set(i, { origin: e.currentTarget.value })}>
                  <option value="">Choose a device…</option>
                  {slots.length > 0 && (
                    <optgroup label="Blueprint slots">
                      {slots.map((s) => (
                        <option key={s.id} value={s.id}>
                          Slot: {s.label || s.name}
                        </option>
                      ))}
                    </optgroup>
                  )}
                  <optgroup label="Devices">
                    {devices.map((d) => (
                      <option key={d.id} value={d.id}>
                        {d.name}
                      </option>
                    ))}
                    {source.origin && !devices.some((d) => d.id === source.origin) && !slots.some((s) => s.id === source.origin) && <option value={source.origin}>{source.origin} (not found)</option>}
                  </optgroup>
                </select>
              </label>
              <label>
                Variables{n}
                {/* Uncontrolled: the text is parsed as typed, and a half-typed ", " must stay. */}
                <input
                  key={list.length}
                  placeholder="temperature, humidity"
                  defaultValue={(source.variables ?? []).join(", ")}
                  onInput={(e) => {
                    const vars = e.currentTarget.value.split(",").map((v) => v.trim()).filter(Boolean);
                    set(i, { variables: vars.length > 0 ? vars : undefined });
                  }}
                />
              </label>
            </div>
            <div class="form-row">
              <label>
                Query{n}
                <select value={source.query ?? "default"} onChange={(e) => set(i, { query: e.currentTarget.value === "default" ? undefined : e.currentTarget.value })}>
                  {QUERY_KINDS.map((k) => (
                    <option key={k.kind} value={k.kind}>
                      {k.label}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Records{n}
                <input type="number" min={1} max={10000} placeholder="15" value={source.qty ?? ""} onChange={(e) => set(i, { qty: e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value) })} />
              </label>
              <label>
                Time range{n}
                <select
                  value={preset}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    if (v === "") set(i, { start_date: undefined, end_date: undefined });
                    else if (v === "custom") set(i, { start_date: new Date(Date.now() - 86_400_000).toISOString(), end_date: undefined });
                    else set(i, { start_date: v, end_date: undefined });
                  }}
                >
                  <option value="">Any time</option>
                  {RANGE_PRESETS.map((p) => (
                    <option key={p.value} value={p.value}>
                      {p.label}
                    </option>
                  ))}
                  <option value="custom">Custom…</option>
                </select>
              </label>
            </div>
            {preset === "custom" && (
              <div class="form-row">
                <label>
                  From{n}
                  <input type="datetime-local" value={toLocalInput(source.start_date)} onChange={(e) => set(i, { start_date: fromLocalInput(e.currentTarget.value) })} />
                </label>
                <label>
                  To{n} <span class="hint">(empty: now)</span>
                  <input type="datetime-local" value={toLocalInput(source.end_date)} onChange={(e) => set(i, { end_date: fromLocalInput(e.currentTarget.value) })} />
                </label>
              </div>
            )}
            {arity === "many" && list.length > 1 && (
              <div>
                <button type="button" class="btn small" onClick={() => onChange(list.filter((_, j) => j !== i))}>
                  Remove source{n}
                </button>
              </div>
            )}
          </div>
        );
      })}
      {arity === "many" && (
        <div class="form-actions">
          <button type="button" class="btn small" onClick={() => onChange([...list, { ...list[list.length - 1]!, origin: "" }])}>
            Add source
          </button>
          <span class="muted small">or add every device with the tag</span>
          <input aria-label="Tag key" placeholder="key" value={tagKey} onInput={(e) => setTagKey(e.currentTarget.value)} size={10} />
          <input aria-label="Tag value" placeholder="value" value={tagValue} onInput={(e) => setTagValue(e.currentTarget.value)} size={10} />
          <button type="button" class="btn small" disabled={tagKey.trim() === ""} onClick={() => void addByTag()}>
            Add by tag
          </button>
          <span class="muted small" role="status">
            {tagNote}
          </span>
        </div>
      )}
      <ErrorText error={tagError} />
    </fieldset>
  );
}
