/**
 * The Data tab's query form: every query kind of `GET /device/:id/data` with the options that
 * kind takes. Fields hold text as typed and go to the API as they are: the API decides what a
 * date or a number is, and its words are shown under the results.
 */
import { useEffect, useState } from "preact/hooks";
import { AGGREGATE_FUNCTIONS, COMPARISONS, EMPTY_FORM, INTERVALS, kindInfo, PAGE_SIZES, QUERY_KINDS, type DataForm, type QueryKind } from "./query.js";

const RELATIVE_DATES = ["1 hour", "1 day", "7 days", "30 days", "3 months", "1 year"];

export function QueryForm({ value, onApply }: { value: DataForm; onApply: (form: DataForm) => void }) {
  const [draft, setDraft] = useState(value);
  // On a phone the form starts folded, so the records are on the first screen.
  const [unfolded] = useState(() => !matchMedia("(max-width: 720px)").matches);
  useEffect(() => setDraft(value), [value]);
  const set = <K extends keyof DataForm>(key: K, v: DataForm[K]) => setDraft((d) => ({ ...d, [key]: v }));
  const info = kindInfo(draft.kind);
  const moreFilters = draft.groups !== "" || draft.ids !== "" || draft.values !== "";

  const text = (key: "variables" | "groups" | "ids" | "values" | "start" | "end" | "threshold", label: string, hint?: string, list?: string) => (
    <div class="field">
      <label>
        {label}
        <input type="text" value={draft[key]} onInput={(e) => set(key, e.currentTarget.value)} list={list} aria-describedby={hint ? `data-hint-${key}` : undefined} autoComplete="off" spellcheck={false} />
      </label>
      {hint && <small class="muted hint" id={`data-hint-${key}`}>{hint}</small>}
    </div>
  );

  const applied = [kindInfo(value.kind).label, value.variables && `variables ${value.variables}`, value.start && `from ${value.start}`, value.end && `to ${value.end}`].filter(Boolean).join(" · ");
  return (
    <details class="card data-query" open={unfolded}>
      <summary>
        Query <span class="muted">{applied}</span>
      </summary>
      <form
        aria-label="Query"
        onSubmit={(e) => {
          e.preventDefault();
          onApply(draft);
        }}
      >
        <div class="data-query-grid">
          <label>
            Query
            <select value={draft.kind} onChange={(e) => set("kind", e.currentTarget.value as QueryKind)}>
              {QUERY_KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          {text("variables", "Variables", "Comma-separated; empty for all")}
          {text("start", info.needsStart ? "From (required)" : "From", "ISO date, “2024-05-01 12:00” (UTC), epoch ms, or “1 day”", "data-relative-dates")}
          {text("end", "To", undefined, "data-relative-dates")}
          {draft.kind === "aggregate" && (
            <>
              <label>
                Interval
                <select value={draft.interval} onChange={(e) => set("interval", e.currentTarget.value)}>
                  {INTERVALS.map((i) => <option key={i} value={i}>{i}</option>)}
                </select>
              </label>
              <label>
                Function
                <select value={draft.aggregate} onChange={(e) => set("aggregate", e.currentTarget.value)}>
                  {AGGREGATE_FUNCTIONS.map((f) => <option key={f} value={f}>{f}</option>)}
                </select>
              </label>
            </>
          )}
          {draft.kind === "conditional" && (
            <>
              <label>
                Value is
                <select value={draft.comparison} onChange={(e) => set("comparison", e.currentTarget.value)}>
                  {COMPARISONS.map((c) => <option key={c.fn} value={c.fn}>{c.label}</option>)}
                </select>
              </label>
              {text("threshold", "Threshold")}
            </>
          )}
          {info.paged && (
            <>
              <label>
                Order
                <select value={draft.ordination} onChange={(e) => set("ordination", e.currentTarget.value as DataForm["ordination"])}>
                  <option value="descending">Newest first</option>
                  <option value="ascending">Oldest first</option>
                </select>
              </label>
              <label>
                Per page
                <select value={draft.qty} onChange={(e) => set("qty", e.currentTarget.value)}>
                  {PAGE_SIZES.map((n) => <option key={n} value={String(n)}>{n}</option>)}
                </select>
              </label>
            </>
          )}
        </div>
        <details class="data-more" open={moreFilters}>
          <summary>Groups, record ids, values</summary>
          <div class="data-query-grid">
            {text("groups", "Groups", "Comma-separated")}
            {text("ids", "Record ids", "Comma-separated")}
            {text("values", "Values", "Comma-separated; “10” also matches the number 10")}
          </div>
        </details>
        <datalist id="data-relative-dates">
          {RELATIVE_DATES.map((d) => <option key={d} value={d} />)}
        </datalist>
        <div class="toolbar">
          <button type="submit" class="btn primary">Apply</button>
          <button type="button" class="btn" onClick={() => onApply(EMPTY_FORM)}>Reset</button>
          {info.paged && draft.variables.includes(",") && <small class="muted">With several variables, each variable gets a page of this size (the API's rule).</small>}
        </div>
      </form>
    </details>
  );
}
