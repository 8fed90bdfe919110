/** Action script: runs analyses with the triggering records as their scope. */
import type { NamedItemJson } from "../../../../src/http/api_types.js";
import { get } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import type { ActionForm, ActionFormProps } from "./types.js";

function ScriptForm({ params, update }: ActionFormProps) {
  const analyses = useApi((signal) => get<NamedItemJson[]>("/analysis", { fields: "id,name", amount: 1000, orderBy: "name,asc" }, signal), []);
  const chosen = Array.isArray(params.script) ? (params.script as unknown[]).filter((id): id is string => typeof id === "string") : typeof params.script === "string" ? [params.script] : [];
  const toggle = (id: string, on: boolean) => update({ ...params, script: on ? [...chosen, id] : chosen.filter((c) => c !== id) });
  // Ids the action names that no listed analysis has (deleted since): kept, shown, removable.
  const unknown = chosen.filter((id) => !analyses.data?.some((a) => a.id === id));
  return (
    <fieldset class="script-list">
      <legend>Analyses to run</legend>
      <ErrorText error={analyses.error} />
      {analyses.data?.length === 0 && <p class="muted">The account has no analyses yet.</p>}
      {analyses.data?.map((a) => (
        <label class="inline" key={a.id}>
          <input type="checkbox" checked={chosen.includes(a.id)} onChange={(e) => toggle(a.id, e.currentTarget.checked)} />
          {a.name} <span class="muted mono small">{a.id}</span>
        </label>
      ))}
      {analyses.data &&
        unknown.map((id) => (
          <label class="inline" key={id}>
            <input type="checkbox" checked onChange={() => toggle(id, false)} />
            <span class="warn">unknown analysis</span> <span class="mono small">{id}</span>
          </label>
        ))}
    </fieldset>
  );
}

export const scriptAction: ActionForm = {
  type: "script",
  label: "Run analyses",
  help: "Runs each chosen analysis with the triggering records as its scope (queued; the action does not wait for the runs).",
  initial: () => ({ type: "script", script: [] }),
  Form: ScriptForm,
};
