/**
 * A device by id, found by name: typing searches the account's devices (`GET /device` with a
 * name filter, 20 at most, so it stays quick with 100 000 devices) and offers them; the value
 * is the id, and the chosen device's name is shown beside it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { DeviceJson, NamedItemJson } from "../../../../src/http/api_types.js";
import { get } from "../../api/client.js";

let fields = 0;

export function DeviceField({ label, value, onChange, hint }: { label: string; value: string; onChange: (id: string) => void; hint?: string }) {
  const listId = useRef(`device-options-${++fields}`).current;
  const [options, setOptions] = useState<NamedItemJson[]>([]);
  const [named, setNamed] = useState<NamedItemJson | undefined>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const term = value.trim().replace(/[*]/g, "");
      const byName = get<NamedItemJson[]>("/device", { filter: term === "" ? undefined : { name: `*${term}*` }, amount: 20, fields: "id,name" }, controller.signal);
      // An id typed or read back from the API: its name, so the user sees which device it is.
      const byId = /^[0-9a-f]{24}$/.test(term) ? get<DeviceJson>(`/device/${term}`, undefined, controller.signal).then((d): NamedItemJson[] => [d], (): NamedItemJson[] => []) : Promise.resolve<NamedItemJson[]>([]);
      Promise.all([byName.catch((): NamedItemJson[] => []), byId]).then(([list, exact]) => {
        setOptions(list);
        setNamed([...exact, ...list].find((d) => d.id === term));
      }, () => undefined);
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [value]);
  return (
    <div class="field">
      <label>
        {label}
        <input
          type="text"
          class="mono"
          value={value}
          list={listId}
          autoComplete="off"
          spellcheck={false}
          aria-describedby={`${listId}-hint`}
          onInput={(e) => onChange(e.currentTarget.value)}
          placeholder="device id, or type a name"
        />
      </label>
      <datalist id={listId}>
        {options.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </datalist>
      <small class="muted hint" id={`${listId}-hint`}>
        {named ? `Device: ${named.name}` : (hint ?? "")}
      </small>
    </div>
  );
}
