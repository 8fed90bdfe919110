/**
 * A blueprint's device selector: for each slot, the devices that fit it
 * (`GET /dashboard/:id/devices`, or a share link's `/share/:key/devices`). The pick is the
 * page's to keep (the console keeps it in the address).
 */
import type { BlueprintDeviceJson, DashboardDeviceJson } from "../../../src/http/api_types.js";

export function BlueprintSelector({ slots, devices, picks, onPick }: { slots: BlueprintDeviceJson[]; devices: DashboardDeviceJson[]; picks: Record<string, string>; onPick(slot: string, device: string | undefined): void }) {
  if (slots.length === 0) return null;
  return (
    <>
      {slots.map((slot) => {
        const fitting = devices.filter((d) => d.blueprint_devices.includes(slot.id));
        return (
          <label key={slot.id}>
            {slot.label || slot.name}
            <select value={picks[slot.id] ?? ""} onChange={(e) => onPick(slot.id, e.currentTarget.value || undefined)}>
              <option value="">{fitting.length === 0 ? "No device fits" : "First fitting device"}</option>
              {fitting.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
        );
      })}
    </>
  );
}
