/**
 * Runs the analysis with a scope (the JSON the SDK hands the script as `scope`), and shows its
 * runs in the queue live: `GET /analysis/:id/runs` once, then the `analysis_run.<id>` channel.
 * Ctrl/Cmd+Enter in the scope runs.
 */
import { useEffect, useState } from "preact/hooks";
import type { AnalysisRunAnswerJson, AnalysisRunEventJson, AnalysisRunJson } from "../../../../src/http/api_types.js";
import { get, post, seg } from "../../api/client.js";
import { CodeEditor } from "../../components/code_editor.js";
import { ErrorText } from "../../components/error_text.js";
import { channel } from "../../live/sse.js";
import type { AnalysisCardProps } from "../analysis.js";

type Run = AnalysisRunEventJson;
/** Ended runs kept on screen, newest first, so a quick run is still seen to have happened. */
const RECENT = 5;
const EXAMPLE_SCOPE = `[
  { "variable": "temperature", "value": 21.5, "unit": "°C" }
]`;

export function RunCard({ analysis }: AnalysisCardProps) {
  const [scope, setScope] = useState(EXAMPLE_SCOPE);
  const [error, setError] = useState<unknown>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const runs = useRunQueue(analysis.id);

  const run = async () => {
    if (busy) return;
    setError(undefined);
    setOutcome(undefined);
    let parsed: unknown;
    try {
      parsed = scope.trim() === "" ? [] : JSON.parse(scope);
    } catch (err) {
      setError(new Error(`The scope is not JSON: ${(err as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      const answer = await post<AnalysisRunAnswerJson>(`/analysis/${seg(analysis.id)}/run`, { scope: parsed });
      if (answer.run) setOutcome(`Run #${answer.run.id} ${answer.run.status === "running" ? "started" : "queued"}.`);
      else setOutcome(answer.delivered ? "Sent to the external runner." : "No external runner is listening: the run was not delivered.");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      e.preventDefault();
      void run();
    }
  };

  return (
    <section class="card run-card" aria-labelledby="run-title" onKeyDown={onKeyDown}>
      <div class="card-head">
        <h2 id="run-title">Run</h2>
        <div class="actions">
          <button type="button" class="btn primary" onClick={() => void run()} disabled={busy} title="Ctrl+Enter">
            {busy ? "Starting…" : "Run now"}
          </button>
        </div>
      </div>
      {!analysis.active && <p class="hint">The analysis is inactive: the API refuses its runs until it is activated (Settings).</p>}
      <p class="hint" id="scope-hint">
        Scope: the JSON the script receives as <code>scope</code> (a trigger passes its records).
      </p>
      <CodeEditor value={scope} onChange={setScope} language="json" label="Run scope (JSON)" minHeight="0" />
      <ErrorText error={error} />
      <p class="run-outcome" role="status">
        {outcome ?? ""}
      </p>
      <h3 class="queue-title">Run queue</h3>
      <RunList runs={runs} />
    </section>
  );
}

/** In a box of fixed height: runs coming and going never move the console below. */
function RunList({ runs }: { runs: { active: Run[]; recent: Run[] } }) {
  if (runs.active.length === 0 && runs.recent.length === 0) return <p class="muted small queue-empty run-box">Nothing queued or running.</p>;
  return (
    <ul class="run-list run-box" aria-label="Runs of this analysis" tabIndex={0}>
      {[...runs.active, ...runs.recent].map((r) => (
        <li key={r.id} class={`run ${r.status}`}>
          <span class="run-id">#{r.id}</span>
          <span class={`pill ${r.status === "running" ? "ok" : r.status === "dropped" ? "bad" : ""}`}>{r.status}</span>
          <span class="muted small">{describe(r)}</span>
        </li>
      ))}
    </ul>
  );
}

function describe(r: Run): string {
  const time = (iso: string) => new Date(iso).toLocaleTimeString();
  if (r.ended_at) return `ended ${time(r.ended_at)}`;
  if (r.started_at) return `since ${time(r.started_at)}`;
  return `waiting since ${time(r.queued_at)}`;
}

/**
 * The analysis's runs: queued and running (in the API's order: running first), and the last
 * few that ended. The channel is joined before the list is read, so no change falls between;
 * a run the channel already saw end is not brought back by a list read just before it ended.
 */
function useRunQueue(analysisId: string): { active: Run[]; recent: Run[] } {
  const [state, setState] = useState<{ active: Run[]; recent: Run[] }>({ active: [], recent: [] });
  useEffect(() => {
    let live = true;
    const ended = new Set<number>();
    /** `onlyIfNew`: from the list read, which the channel's news about the same run outdates. */
    const apply = (run: Run, onlyIfNew = false) =>
      setState((s) => {
        if (onlyIfNew && (ended.has(run.id) || s.active.some((r) => r.id === run.id))) return s;
        const others = s.active.filter((r) => r.id !== run.id);
        if (run.status === "finished" || run.status === "dropped") {
          ended.add(run.id);
          return { active: others, recent: [run, ...s.recent.filter((r) => r.id !== run.id)].slice(0, RECENT) };
        }
        const active = [...others, run].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
        return { ...s, active };
      });
    const stop = channel(`analysis_run.${analysisId}`, (payload) => {
      const run = payload as Run;
      if (live && run?.analysis === analysisId && typeof run.id === "number") apply(run);
    });
    get<AnalysisRunJson[]>(`/analysis/${seg(analysisId)}/runs`).then(
      (list) => {
        if (!live) return;
        for (const r of list) apply({ ...r, ended_at: null }, true);
      },
      () => undefined, // the channel still tells what comes next
    );
    return () => {
      live = false;
      stop();
    };
  }, [analysisId]);
  return state;
}

const rank = (r: Run) => (r.status === "running" ? 0 : 1);
