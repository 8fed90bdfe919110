/**
 * The account's analyses: search by name, each with its state, where it runs and its last run;
 * a new one is created by name and opened.
 */
import { useEffect, useState } from "preact/hooks";
import type { AnalysisCreatedJson, AnalysisInfoJson } from "../../../src/http/api_types.js";
import { get, post } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { VirtualList } from "../components/virtual_list.js";
import { useApi } from "../hooks/use_api.js";
import { navigate } from "../router.js";
import "../styles/panels.css";
import "../styles/analyses.css";

type Row = Pick<AnalysisInfoJson, "id" | "name" | "active" | "run_on" | "last_run">;
const FIELDS = ["id", "name", "active", "run_on", "last_run"];
/** The API's largest page: one request holds every analysis an account reasonably has. */
const AMOUNT = 10_000;

export default function Analyses() {
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  // Ask once typing pauses, not at every key.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 200);
    return () => clearTimeout(timer);
  }, [search]);
  const list = useApi(
    (signal) => get<Row[]>("/analysis", { amount: AMOUNT, fields: FIELDS, orderBy: "name,asc", filter: query ? { name: `*${query}*` } : undefined }, signal),
    [query],
  );
  const [creating, setCreating] = useState(false);
  const rows = list.data ?? [];

  return (
    <section class="analyses">
      <PageHeader title="Analyses">
        <button type="button" class="btn primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>
          New analysis
        </button>
      </PageHeader>
      {creating && <CreateForm onCancel={() => setCreating(false)} />}
      <div class="toolbar">
        <input type="search" placeholder="Search by name" value={search} onInput={(e) => setSearch(e.currentTarget.value)} aria-label="Search analyses by name" />
        <span class="muted small" aria-live="polite">
          {list.loading && !list.data ? "Loading…" : `${rows.length} ${rows.length === 1 ? "analysis" : "analyses"}`}
        </span>
      </div>
      <ErrorText error={list.error} />
      <div class="analysis-row analysis-head" aria-hidden="true">
        <span>Name</span>
        <span>State</span>
        <span>Runs on</span>
        <span>Last run</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={40}
        label="Analyses"
        class="analysis-list"
        itemKey={(row) => row.id}
        empty={!list.loading && <p class="muted empty">{query ? "No analysis matches." : "No analysis yet: create one."}</p>}
        render={(row) => (
          <div class="analysis-row">
            <a href={`#/analyses/${row.id}`} class="analysis-name">
              {row.name}
            </a>
            <span class={row.active ? "pill ok" : "pill"}>{row.active ? "Active" : "Inactive"}</span>
            <span>{row.run_on === "external" ? "External" : "Sluice"}</span>
            <span class="muted">{row.last_run ? <time dateTime={row.last_run}>{new Date(row.last_run).toLocaleString()}</time> : "Never"}</span>
          </div>
        )}
      />
    </section>
  );
}

function CreateForm({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState("");
  const [runOn, setRunOn] = useState<"sluice" | "external">("sluice");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await post<AnalysisCreatedJson>("/analysis", { name, run_on: runOn });
      navigate(`/analyses/${created.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form class="card create-analysis" onSubmit={submit} aria-label="New analysis">
      <label>
        Name
        <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
      </label>
      <label>
        Runs on
        <select value={runOn} onChange={(e) => setRunOn(e.currentTarget.value as "sluice" | "external")}>
          <option value="sluice">Sluice (a process on this server)</option>
          <option value="external">External (the SDK on your machine)</option>
        </select>
      </label>
      <ErrorText error={error} />
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? "Creating…" : "Create and open"}
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
