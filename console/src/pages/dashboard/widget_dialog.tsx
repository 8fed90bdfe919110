/**
 * Adding or editing a widget, in a modal dialog: first (when adding) the type, from the
 * registry's menu; then its label, its data sources (the shared form, unless the type reads
 * none) and the type's own options editor. Saving is `POST /dashboard/:id/widget` (the page
 * then places it on the grid) or `PUT /dashboard/:id/widget/:widget`.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { DashboardJson, WidgetJson, WidgetSourceJson } from "../../../../src/http/api_types.js";
import { get, post, put, seg } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import { widgetType, widgetTypes } from "../../widgets/registry.js";
import type { AnyWidgetType } from "../../widgets/types.js";
import { SourcesForm, type DeviceOption } from "./sources_form.js";
import "../../styles/dialog.css";

/** What the dialog edits: a new widget (type not chosen yet) or a stored one. */
export type WidgetDialogTarget = { kind: "new" } | { kind: "edit"; widget: WidgetJson };

export interface WidgetDialogProps {
  dashboard: DashboardJson;
  target: WidgetDialogTarget;
  onClose(): void;
  /** After a save: the widget's id and, for a new one, its type (for its default size). */
  onSaved(widgetId: string, created: AnyWidgetType | undefined): void;
}

export function WidgetDialog({ dashboard, target, onClose, onSaved }: WidgetDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const stored = target.kind === "edit" ? target.widget : undefined;
  const [type, setType] = useState<AnyWidgetType | undefined>(stored ? widgetType(stored.type) : undefined);
  const [label, setLabel] = useState(stored?.label ?? "");
  const [sources, setSources] = useState<WidgetSourceJson[]>(stored?.data ?? []);
  const [options, setOptions] = useState<unknown>(stored && type ? type.parse(stored.display) : undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const devices = useApi((signal) => get<DeviceOption[]>("/device", { fields: "id,name", amount: 1000, orderBy: "name,asc" }, signal), []);

  useEffect(() => {
    const el = dialog.current!;
    el.showModal();
    return () => el.close();
  }, []);

  const choose = (t: AnyWidgetType) => {
    setType(t);
    setOptions(t.defaults());
    if (label === "") setLabel(t.label);
    if (t.sources === "none") setSources([]);
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const data = type?.sources === "none" ? [] : sources.filter((s) => s.origin !== "").slice(0, type?.sources === "one" ? 1 : undefined);
      const body: Record<string, unknown> = { label: label.trim(), data };
      if (type) body.display = options;
      const dash = seg(dashboard.id);
      if (stored) {
        await put(`/dashboard/${dash}/widget/${seg(stored.id)}`, body);
        onSaved(stored.id, undefined);
      } else if (type) {
        const made = await post<{ widget: string }>(`/dashboard/${dash}/widget`, { ...body, type: type.type });
        onSaved(made.widget, type);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const title = stored ? `Edit ${stored.label || "widget"}` : type ? `New ${type.label} widget` : "Add a widget";
  const types = widgetTypes();
  return (
    <dialog ref={dialog} class="form-dialog widget-dialog" aria-labelledby="widget-dialog-title" onClose={onClose}>
      <h2 id="widget-dialog-title">{title}</h2>
      {!stored && !type ? (
        <>
          {types.length === 0 ? (
            <p class="muted">This console was built without any widget type.</p>
          ) : (
            <ul class="type-menu" aria-label="Widget types">
              {types.map((t) => (
                <li key={t.type}>
                  <button type="button" onClick={() => choose(t)}>
                    <strong>{t.label}</strong>
                    <span class="muted">{t.description}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div class="dialog-buttons">
            <button type="button" class="btn" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </>
      ) : (
        <form aria-label={title} onSubmit={(e) => void save(e)}>
          <label>
            Label
            <input required maxLength={200} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
          </label>
          {(!type || type.sources !== "none") && (
            <SourcesForm sources={sources} onChange={setSources} arity={type?.sources === "one" ? "one" : "many"} devices={devices.data ?? []} slots={dashboard.type === "blueprint" ? dashboard.blueprint_devices : []} />
          )}
          <ErrorText error={devices.error} />
          {type ? (
            <fieldset class="type-options">
              <legend>{type.label} options</legend>
              <type.Editor options={options} onChange={setOptions} sources={sources} />
            </fieldset>
          ) : (
            <p class="muted">
              The type <code>{stored?.type}</code> is not supported here: its display options are kept as they are.
            </p>
          )}
          <ErrorText error={error} />
          <div class="dialog-buttons">
            <button type="button" class="btn" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={busy || label.trim() === ""}>
              {stored ? "Save widget" : "Add widget"}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
