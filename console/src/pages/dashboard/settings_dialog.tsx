/**
 * A dashboard's settings: label, tags, kind (dashboard or blueprint) and a blueprint's device
 * slots (a name and the tag conditions a device must meet to fill it). One `PUT /dashboard/:id`.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { BlueprintDeviceJson, DashboardJson, TagJson } from "../../../../src/http/api_types.js";
import { ErrorText } from "../../components/error_text.js";
import { cleanTags, TagsEditor } from "../../components/tags_editor.js";
import "../../styles/dialog.css";

export type DashboardSettings = Pick<DashboardJson, "label" | "tags" | "type" | "blueprint_devices">;

const slotId = () => `s${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export function SettingsDialog({ dashboard, onClose, onSave }: { dashboard: DashboardJson; onClose(): void; onSave(settings: DashboardSettings): Promise<void> }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [label, setLabel] = useState(dashboard.label);
  const [tags, setTags] = useState<TagJson[]>(dashboard.tags);
  const [type, setType] = useState(dashboard.type);
  const [slots, setSlots] = useState<BlueprintDeviceJson[]>(dashboard.blueprint_devices);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const el = dialog.current!;
    el.showModal();
    return () => el.close();
  }, []);
  const setSlot = (i: number, part: Partial<BlueprintDeviceJson>) => setSlots(slots.map((s, j) => (j === i ? { ...s, ...part } : s)));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSave({ label: label.trim(), tags: cleanTags(tags), type, blueprint_devices: slots.map((s) => ({ ...s, conditions: cleanTags(s.conditions) })) });
      dialog.current?.close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="form-dialog widget-dialog" aria-labelledby="dash-settings-title" onClose={onClose}>
      <h2 id="dash-settings-title">Dashboard settings</h2>
      <form aria-label="Dashboard settings" onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input required maxLength={200} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </label>
        <TagsEditor tags={tags} onChange={setTags} />
        <fieldset>
          <legend>Kind</legend>
          <label class="inline">
            <input type="radio" name="dash-kind" checked={type === "dashboard"} onChange={() => setType("dashboard")} /> Dashboard: widgets read the devices they name
          </label>
          <label class="inline">
            <input type="radio" name="dash-kind" checked={type === "blueprint"} onChange={() => setType("blueprint")} /> Blueprint: viewers pick a device for each slot
          </label>
        </fieldset>
        {type === "blueprint" && (
          <fieldset>
            <legend>Device slots</legend>
            {slots.length === 0 && <p class="muted small">No slot yet: add one, then choose it as a widget's device.</p>}
            {slots.map((slot, i) => (
              <div class="source-row" key={slot.id} role="group" aria-label={`Slot ${i + 1}`}>
                <div class="form-row">
                  <label>
                    Slot {i + 1} name
                    <input required maxLength={100} value={slot.name} onInput={(e) => setSlot(i, { name: e.currentTarget.value })} />
                  </label>
                  <div>
                    <button type="button" class="btn small" onClick={() => setSlots(slots.filter((_, j) => j !== i))}>
                      Remove slot {i + 1}
                    </button>
                  </div>
                </div>
                <TagsEditor label={`Slot ${i + 1}: devices with every tag (* matches anything)`} tags={slot.conditions} onChange={(conditions) => setSlot(i, { conditions })} />
              </div>
            ))}
            <button type="button" class="btn small" onClick={() => setSlots([...slots, { id: slotId(), name: `Device ${slots.length + 1}`, conditions: [{ key: "", value: "" }] }])}>
              Add slot
            </button>
          </fieldset>
        )}
        <ErrorText error={error} />
        <div class="dialog-buttons">
          <button type="button" class="btn" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy || label.trim() === ""}>
            Save settings
          </button>
        </div>
      </form>
    </dialog>
  );
}
