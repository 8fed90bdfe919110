/**
 * A device's Data tab: its bucket through `GET|PUT|DELETE /device/:id/data` (the routes the
 * SDK's `Resources.devices` calls). Every query kind with its options (query_form.tsx), kept in
 * the address (`#/devices/:id/data?variables=temp`) so a view can be reloaded or shared; pages
 * fetched one at a time, never the whole bucket; edit and delete records; CSV export and import;
 * retention.
 */
import { useEffect, useState } from "preact/hooks";
import type { AggregateBucketJson, DataRecordJson } from "../../../../src/http/api_types.js";
import { ApiError, del, get, seg } from "../../api/client.js";
import { ConfirmButton } from "../../components/confirm_button.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import { navigate, path, pathQuery } from "../../router.js";
import "../../styles/data.css";
import type { DeviceTabProps } from "../device.js";
import { BucketsTable } from "./data/buckets_table.js";
import { retryAfterSeconds } from "./data/api_words.js";
import { ExportPanel } from "./data/export_panel.js";
import { ImportPanel } from "./data/import_panel.js";
import { apiQuery, filterQuery, FIRST_PAGE, formFromSearch, formToSearch, kindInfo, mayHaveMore, nextCursor, pagingOf, type Cursor, type DataForm } from "./data/query.js";
import { QueryForm } from "./data/query_form.js";
import { RecordEditor } from "./data/record_editor.js";
import { RecordsTable } from "./data/records_table.js";
import { RetentionPanel } from "./data/retention_panel.js";
import type { TimeZoneChoice } from "./data/time_format.js";

/** Ids per DELETE: the API bounds a query string at 8 KiB. */
const IDS_PER_DELETE = 100;
/** Records per DELETE of a filter: the API's largest qty. */
const DELETE_PAGE = 10_000;

type Panel = "export" | "import" | "retention";

const removedCount = (message: string) => Number(/^(\d+) Data Removed/.exec(message)?.[1] ?? 0);

export default function DataTab({ device }: DeviceTabProps) {
  const id = device.id;
  const base = `/devices/${id}/data`;
  const search = path.value.split("?")[1] ?? "";
  const form = formFromSearch(pathQuery());
  const info = kindInfo(form.kind);
  const [pages, setPages] = useState<{ search: string; stack: Cursor[] }>({ search, stack: [FIRST_PAGE] });
  const stack = pages.search === search ? pages.stack : [FIRST_PAGE];
  const cursor = stack[stack.length - 1]!;
  const [round, setRound] = useState(0);
  const [zone, setZone] = useState<TimeZoneChoice>(() => (localStorage.getItem("sluice-data-zone") === "local" ? "local" : "utc"));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [editing, setEditing] = useState<DataRecordJson | undefined>(undefined);
  const [panel, setPanel] = useState<Panel | undefined>(undefined);
  const [status, setStatus] = useState("");
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const result = useApi((signal) => get<unknown>(`/device/${seg(id)}/data`, apiQuery(form, cursor), signal), [id, search, JSON.stringify(cursor), round]);
  const filter = filterQuery(form);
  const filtered = Object.keys(filter).length > 0;
  const matching = useApi(
    (signal) => (filtered ? get<number>(`/device/${seg(id)}/data`, { ...filter, query: "count" }, signal) : get<number>(`/device/${seg(id)}/data_amount`, undefined, signal)),
    [id, JSON.stringify(filter), round],
  );
  useEffect(() => setSelected(new Set()), [search, JSON.stringify(cursor), round]);

  const apply = (next: DataForm) => {
    setStatus("");
    setActionError(undefined);
    const query = formToSearch(next);
    const target = query ? `${base}?${query}` : base;
    if (target === path.value) setRound((r) => r + 1);
    else navigate(target);
  };
  const refresh = () => setRound((r) => r + 1);
  const setPage = (next: Cursor[]) => setPages({ search, stack: next });

  const records = info.shape === "records" && Array.isArray(result.data) ? (result.data as DataRecordJson[]) : undefined;
  const buckets = info.shape === "buckets" && Array.isArray(result.data) ? (result.data as AggregateBucketJson[]) : undefined;
  const number = info.shape === "number" ? (typeof result.data === "number" ? result.data : Array.isArray(result.data) ? null : undefined) : undefined;
  const rowCount = records?.length ?? buckets?.length ?? 0;
  const paging = pagingOf(form);

  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setActionError(undefined);
    setStatus("");
    try {
      setStatus(await work());
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
      refresh();
    }
  };
  const deleteSelected = () =>
    run(async () => {
      const ids = [...selected];
      let removed = 0;
      for (let i = 0; i < ids.length; i += IDS_PER_DELETE) removed += removedCount(await del<string>(`/device/${seg(id)}/data`, { ids: ids.slice(i, i + IDS_PER_DELETE) }));
      return `${removed} Data Removed`;
    });
  const deleteMatching = () =>
    run(async () => {
      let removed = 0;
      for (;;) {
        let n: number;
        try {
          n = removedCount(await del<string>(`/device/${seg(id)}/data`, { ...filter, qty: DELETE_PAGE }));
        } catch (err) {
          // A big bucket takes many requests; the plan's rate (http.dataEdits) may ask to wait.
          if (!(err instanceof ApiError && err.status === 429)) throw err;
          const seconds = retryAfterSeconds(err.message) ?? 5;
          setStatus(`${removed.toLocaleString()} removed so far; waiting ${seconds} s: ${err.message}`);
          await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
          continue;
        }
        removed += n;
        if (n === 0) break;
        setStatus(`${removed.toLocaleString()} removed so far…`);
      }
      return `${removed} Data Removed`;
    });

  const togglePanel = (p: Panel) => setPanel(panel === p ? undefined : p);
  const panelButton = (p: Panel, label: string) => (
    <button type="button" class={panel === p ? "btn active" : "btn"} aria-expanded={panel === p} aria-controls={`data-panel-${p}`} onClick={() => togglePanel(p)}>
      {label}
    </button>
  );

  return (
    <div class="data-tab">
      <div class="toolbar data-head">
        <span class="data-amount">
          {matching.data === undefined ? "…" : matching.data.toLocaleString()} record{matching.data === 1 ? "" : "s"} {filtered ? "match the filter" : "in the bucket"}
        </span>
        <div class="data-head-actions">
          {panelButton("export", "Export CSV")}
          {panelButton("import", "Import CSV")}
          {panelButton("retention", "Retention")}
          <label class="inline">
            Times in
            <select
              value={zone}
              onChange={(e) => {
                const z = e.currentTarget.value === "local" ? "local" : "utc";
                setZone(z);
                localStorage.setItem("sluice-data-zone", z);
              }}
            >
              <option value="utc">UTC</option>
              <option value="local">local time</option>
            </select>
          </label>
        </div>
      </div>
      <div id={`data-panel-${panel ?? "none"}`}>
        {panel === "export" && <ExportPanel deviceId={id} deviceName={device.name} form={form} />}
        {panel === "import" && <ImportPanel deviceId={id} onImported={refresh} />}
        {panel === "retention" && <RetentionPanel deviceId={id} onChanged={refresh} />}
      </div>
      <QueryForm value={form} onApply={apply} />
      <ErrorText error={result.error} />
      <ErrorText error={matching.error} />

      {info.shape === "records" && (
        <div class="toolbar data-selection">
          <span class="muted">{selected.size > 0 ? `${selected.size} selected` : "Select records to delete them"}</span>
          <ConfirmButton
            disabled={selected.size === 0 || busy}
            title={`Delete ${selected.size} record${selected.size === 1 ? "" : "s"}?`}
            message={<p>The selected records are removed from the bucket. This cannot be undone.</p>}
            confirm="Delete"
            onConfirm={() => void deleteSelected()}
          >
            Delete selected
          </ConfirmButton>
          <ConfirmButton
            disabled={busy || matching.data === 0}
            title={filtered ? `Delete the ${matching.data?.toLocaleString() ?? ""} records matching the filter?` : `Delete all ${matching.data?.toLocaleString() ?? ""} records of ${device.name}?`}
            message={<p>{filtered ? "Every record the filter selects (variables, groups, ids, values and dates) is removed" : "The device's whole bucket is emptied"}. This cannot be undone.</p>}
            confirm="Delete them"
            onConfirm={() => void deleteMatching()}
          >
            {filtered ? "Delete all matching" : "Delete all records"}
          </ConfirmButton>
        </div>
      )}
      <ErrorText error={actionError} />
      <p role="status" class="data-status">{status}</p>

      <div class={result.loading ? "data-result loading" : "data-result"} aria-busy={result.loading}>
        {records && (records.length > 0 ? (
          <RecordsTable rows={records} zone={zone} selected={selected} onSelect={setSelected} onEdit={setEditing} />
        ) : (
          <p class="muted">No records{filtered ? " match this query" : " yet"}.</p>
        ))}
        {buckets && (buckets.length > 0 ? <BucketsTable rows={buckets} zone={zone} fn={form.aggregate} /> : <p class="muted">No records in these intervals.</p>)}
        {info.shape === "number" && result.data !== undefined && (
          <p class="data-number">
            <span class="muted">{info.label}:</span> <strong>{number === null || number === undefined ? "no records" : number.toLocaleString(undefined, { maximumFractionDigits: 6 })}</strong>
          </p>
        )}
      </div>

      {paging !== "none" && (
        <nav class="toolbar data-pager" aria-label="Pages">
          <button type="button" class="btn" disabled={stack.length <= 1} onClick={() => setPage(stack.slice(0, -1))}>
            {form.ordination === "descending" ? "← Newer" : "← Earlier"}
          </button>
          <span class="muted">Page {stack.length}</span>
          <button
            type="button"
            class="btn"
            disabled={!mayHaveMore(form, rowCount) || result.loading}
            onClick={() => setPage([...stack, nextCursor(form, cursor, records ?? buckets ?? [])])}
          >
            {form.ordination === "descending" ? "Older →" : "Later →"}
          </button>
          <button type="button" class="btn" onClick={refresh}>
            Refresh
          </button>
        </nav>
      )}
      <RecordEditor
        deviceId={id}
        record={editing}
        onClose={() => setEditing(undefined)}
        onSaved={(message) => {
          setStatus(message);
          refresh();
        }}
      />
    </div>
  );
}
