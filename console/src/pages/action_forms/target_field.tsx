/**
 * Which devices a row selects: one device (`device`), or every device carrying a tag
 * (`tag_key` = `tag_value`), as mqtt_topic, mqtt_connect and mqtt_disconnect rows take it.
 */
import { DeviceField } from "./device_field.js";
import { text } from "./types.js";

interface Target {
  device?: string;
  tag_key?: string;
  tag_value?: string;
}

export function TargetField<R extends Target>({ row, set, index }: { row: R; set: (row: R) => void; index: number }) {
  const byTag = row.device === undefined && (row.tag_key !== undefined || row.tag_value !== undefined);
  const { device: _d, tag_key: _k, tag_value: _v, ...rest } = row;
  return (
    <div class="target-field">
      <div role="radiogroup" aria-label={`Devices of row ${index + 1}`} class="radio-row">
        <label class="inline">
          <input type="radio" name={`target-${index}`} checked={!byTag} onChange={() => set({ ...rest, device: "" } as R)} />
          One device
        </label>
        <label class="inline">
          <input type="radio" name={`target-${index}`} checked={byTag} onChange={() => set({ ...rest, tag_key: "", tag_value: "" } as R)} />
          Every device with a tag
        </label>
      </div>
      {byTag ? (
        <div class="form-pair">
          <label>
            Tag key
            <input type="text" value={text(row.tag_key)} onInput={(e) => set({ ...row, tag_key: e.currentTarget.value })} />
          </label>
          <label>
            Tag value
            <input type="text" value={text(row.tag_value)} onInput={(e) => set({ ...row, tag_value: e.currentTarget.value })} />
          </label>
        </div>
      ) : (
        <DeviceField label="Device" value={text(row.device)} onChange={(device) => set({ ...rest, device } as R)} />
      )}
    </div>
  );
}
