/**
 * Name, description, active, where it runs, and the environment variables the script gets as
 * `context.environment`, saved together with `PUT /analysis/:id`. Values are masked on screen
 * (they often hold API keys) until shown one by one.
 */
import { useState } from "preact/hooks";
import type { KeyValueJson } from "../../../../src/http/api_types.js";
import { put, seg } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import type { AnalysisCardProps } from "../analysis.js";

interface Variable extends KeyValueJson {
  /** Local identity for the row (keys may be edited or repeated while typing). */
  row: number;
  shown: boolean;
}

let rows = 0;
const toRows = (vars: KeyValueJson[]): Variable[] => vars.map((v) => ({ ...v, row: rows++, shown: false }));

export function SettingsCard({ analysis, reload }: AnalysisCardProps) {
  const [name, setName] = useState(analysis.name);
  const [description, setDescription] = useState(analysis.description ?? "");
  const [active, setActive] = useState(analysis.active);
  const [runOn, setRunOn] = useState(analysis.run_on);
  const [vars, setVars] = useState<Variable[]>(() => toRows(analysis.variables));
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const same = (a: KeyValueJson[], b: KeyValueJson[]) => a.length === b.length && a.every((v, i) => v.key === b[i]!.key && v.value === b[i]!.value);
  const dirty =
    name !== analysis.name || description !== (analysis.description ?? "") || active !== analysis.active || runOn !== analysis.run_on || !same(vars, analysis.variables);

  const update = (row: number, patch: Partial<Variable>) => {
    setSaved(false);
    setVars(vars.map((v) => (v.row === row ? { ...v, ...patch } : v)));
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await put(`/analysis/${seg(analysis.id)}`, {
        name,
        description: description === "" ? null : description,
        active,
        run_on: runOn,
        variables: vars.map(({ key, value }) => ({ key, value })),
      });
      setSaved(true);
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card settings-card" aria-labelledby="settings-title" onSubmit={submit} onInput={() => setSaved(false)}>
      <div class="card-head">
        <h2 id="settings-title">Settings and environment</h2>
        <span class="muted small" aria-live="polite">
          {dirty ? "Unsaved changes" : saved ? "Saved" : ""}
        </span>
      </div>
      <div class="form-row">
        <label>
          Name
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Runs on
          <select value={runOn} onChange={(e) => setRunOn(e.currentTarget.value as "sluice" | "external")}>
            <option value="sluice">Sluice</option>
            <option value="external">External (SDK on your machine)</option>
          </select>
        </label>
      </div>
      <label>
        Description
        <textarea rows={2} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <label class="inline">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
        Active (an inactive analysis refuses runs)
      </label>

      <fieldset class="env">
        <legend>Environment variables</legend>
        <p class="hint">The script reads them as <code>context.environment</code>: a list of <code>{"{ key, value }"}</code>.</p>
        {vars.length === 0 && <p class="muted small">None.</p>}
        <ul class="env-list">
          {vars.map((v, i) => (
            <li key={v.row} class="env-row">
              <input aria-label={`Variable ${i + 1} name`} placeholder="KEY" value={v.key} required onInput={(e) => update(v.row, { key: e.currentTarget.value })} class="mono" />
              <ValueInput variable={v} index={i} onInput={(value) => update(v.row, { value })} />
              <button type="button" class="btn small" aria-pressed={v.shown} aria-label={`${v.shown ? "Hide" : "Show"} the value of ${v.key || `variable ${i + 1}`}`} onClick={() => update(v.row, { shown: !v.shown })}>
                {v.shown ? "Hide" : "Show"}
              </button>
              <button type="button" class="btn small danger" aria-label={`Remove ${v.key || `variable ${i + 1}`}`} onClick={() => setVars(vars.filter((x) => x.row !== v.row))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <button type="button" class="btn small" onClick={() => setVars([...vars, { key: "", value: "", row: rows++, shown: true }])}>
          Add variable
        </button>
      </fieldset>
      <ErrorText error={error} />
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled={busy || !dirty}>
          {busy ? "Saving…" : "Save settings"}
        </button>
      </div>
    </form>
  );
}

/** A variable's value: masked (a password field) until shown. Two elements, as an input's type is fixed in its props' type. */
function ValueInput({ variable: v, index, onInput }: { variable: Variable; index: number; onInput: (value: string) => void }) {
  const props = {
    "aria-label": `Variable ${index + 1} value${v.key ? ` (${v.key})` : ""}`,
    placeholder: "value",
    autoComplete: "off",
    value: v.value,
    class: "mono",
    onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value),
  };
  return v.shown ? <input type="text" {...props} /> : <input type="password" {...props} />;
}
