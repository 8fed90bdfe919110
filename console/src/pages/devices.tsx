/**
 * The devices list: search by name (`*` wildcards, as the API takes them), tag filters,
 * sorting, and real paging of 50 rows, so the first screen costs one indexed page of the API
 * whatever the account holds. Connection state and last input update live from `/events`
 * (`device_connection`, `device_last_input`); rows keep one height, so nothing moves when they do.
 * The list's state lives in the address (`#/devices?q=..&tag=k:v&sort=..&page=..`): back works
 * and a filtered list can be shared.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { DeviceConnectionEvent, DeviceCreatedJson, DeviceLastInputEvent, DeviceListItemJson, TagJson } from "../../../src/http/api_types.js";
import { get, post, type QueryValue } from "../api/client.js";
import { ConnectionState } from "../components/connection_state.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { RelativeTime } from "../components/relative_time.js";
import { cleanTags, TagsEditor } from "../components/tags_editor.js";
import { useApi } from "../hooks/use_api.js";
import { channel, eventsState } from "../live/sse.js";
import { navigate, path, pathQuery } from "../router.js";
import { freshToken } from "./device/fresh_token.js";
import "../styles/devices.css";

const PAGE_SIZE = 50;
const FIELDS = ["id", "name", "tags", "active", "connected", "last_input", "created_at"];
type Sort = "name" | "created_at" | "last_input";
const SORTS: { id: Sort; label: string; defaultDir: "asc" | "desc" }[] = [
  { id: "name", label: "Name", defaultDir: "asc" },
  { id: "created_at", label: "Created", defaultDir: "desc" },
  { id: "last_input", label: "Last input", defaultDir: "desc" },
];

interface ListState {
  q: string;
  tags: TagJson[];
  sort: Sort;
  dir: "asc" | "desc";
  page: number;
}

function readState(): ListState {
  const p = pathQuery();
  const sort = SORTS.find((s) => s.id === p.get("sort"))?.id ?? "name";
  const dir = p.get("dir") === "desc" ? "desc" : p.get("dir") === "asc" ? "asc" : SORTS.find((s) => s.id === sort)!.defaultDir;
  const page = Math.max(1, Number.parseInt(p.get("page") ?? "1", 10) || 1);
  const tags = p.getAll("tag").map((t) => {
    const at = t.indexOf(":");
    return at < 0 ? { key: t, value: "" } : { key: t.slice(0, at), value: t.slice(at + 1) };
  });
  return { q: p.get("q") ?? "", tags, sort, dir, page };
}

function writeState(state: ListState): void {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  for (const t of state.tags) p.append("tag", t.value ? `${t.key}:${t.value}` : t.key);
  if (state.sort !== "name") p.set("sort", state.sort);
  if (state.dir !== SORTS.find((s) => s.id === state.sort)!.defaultDir) p.set("dir", state.dir);
  if (state.page > 1) p.set("page", String(state.page));
  const query = p.toString();
  navigate(`/devices${query ? `?${query}` : ""}`, { replace: true });
}

/** The API's filter: a search without `*` finds the text anywhere in the name. */
function apiFilter(state: ListState): Record<string, QueryValue> | undefined {
  const filter: Record<string, QueryValue> = {};
  const q = state.q.trim();
  if (q) filter.name = q.includes("*") ? q : `*${q}*`;
  if (state.tags.length > 0) filter.tags = state.tags.map((t) => (t.value ? { key: t.key, value: t.value } : { key: t.key }));
  return Object.keys(filter).length > 0 ? filter : undefined;
}

interface Page {
  rows: DeviceListItemJson[];
  hasNext: boolean;
}

async function loadPage(state: ListState, signal: AbortSignal): Promise<Page> {
  const filter = apiFilter(state);
  const orderBy = `${state.sort},${state.dir}`;
  // The page, and whether one row exists past it (the API has no total: counting 100 000
  // devices on every page would cost more than the page).
  const [rows, next] = await Promise.all([
    get<DeviceListItemJson[]>("/device", { page: state.page, amount: PAGE_SIZE, orderBy, fields: FIELDS, filter }, signal),
    get<{ id: string }[]>("/device", { page: state.page * PAGE_SIZE + 1, amount: 1, orderBy, fields: ["id"], filter }, signal),
  ]);
  return { rows, hasNext: next.length > 0 };
}

export default function DevicesPage() {
  void path.value; // re-render when the address's query changes
  const state = readState();
  const key = JSON.stringify(state);
  const page = useApi((signal) => loadPage(state, signal), [key]);
  const [rows, setRows] = useState<DeviceListItemJson[]>([]);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    if (page.data) setRows(page.data.rows);
  }, [page.data]);

  // Once the live stream is (re)open, the page is loaded again: a change between the first
  // load and the stream's opening (or during a reconnection) was not streamed.
  const live = eventsState.value;
  useEffect(() => {
    if (live === "open") page.reload();
  }, [live]);

  // Live: connection changes and inputs of the devices on this page.
  useEffect(() => {
    const patch = (id: string, change: Partial<DeviceListItemJson>) =>
      setRows((current) => (current.some((r) => r.id === id) ? current.map((r) => (r.id === id ? { ...r, ...change } : r)) : current));
    const offConnection = channel("device_connection", (payload) => {
      const e = payload as DeviceConnectionEvent;
      if (typeof e?.device_id === "string") patch(e.device_id, { connected: e.connected });
    });
    const offInput = channel("device_last_input", (payload) => {
      const e = payload as DeviceLastInputEvent;
      if (typeof e?.device_id === "string") patch(e.device_id, { last_input: e.last_input });
    });
    return () => {
      offConnection();
      offInput();
    };
  }, []);

  const update = (change: Partial<ListState>) => writeState({ ...state, page: 1, ...change });
  const sortBy = (sort: Sort) =>
    update({ sort, dir: sort === state.sort ? (state.dir === "asc" ? "desc" : "asc") : SORTS.find((s) => s.id === sort)!.defaultDir });
  const filtered = apiFilter(state) !== undefined;

  return (
    <section>
      <PageHeader title="Devices">
        <button type="button" class="btn primary" aria-expanded={creating} aria-controls="create-device" onClick={() => setCreating(!creating)}>
          New device
        </button>
      </PageHeader>
      {creating && <CreateDevice onCancel={() => setCreating(false)} />}
      <Filters state={state} onChange={update} />
      <ErrorText error={page.error} />
      <div class="devices-table-wrap" aria-busy={page.loading ? "true" : "false"}>
        <table class="grid devices-table" aria-label="Devices">
          <colgroup>
            <col class="state" />
            <col class="name" />
            <col class="tags" />
            <col class="input" />
            <col class="created" />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">
                <span class="state-word">State</span>
              </th>
              <SortHeader label="Name" sort="name" state={state} onSort={sortBy} />
              <th scope="col">Tags</th>
              <SortHeader label="Last input" sort="last_input" state={state} onSort={sortBy} />
              <SortHeader label="Created" sort="created_at" state={state} onSort={sortBy} class="created" />
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} class={d.active === false ? "inactive" : undefined}>
                <td>
                  <ConnectionState connected={d.connected === true} compact={false} />
                </td>
                <td>
                  <a href={`#/devices/${d.id}/general`}>{d.name}</a>
                  {d.active === false && <span class="muted small"> (inactive)</span>}
                </td>
                <td>
                  <Tags tags={d.tags} />
                </td>
                <td class="num">
                  <RelativeTime iso={d.last_input ?? null} />
                </td>
                <td class="num created">{d.created_at ? new Date(d.created_at).toLocaleDateString() : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!page.loading && rows.length === 0 && !page.error && (
          <p class="empty muted">{filtered ? "No device matches these filters." : state.page > 1 ? "No devices on this page." : "No devices yet: create the first one with New device."}</p>
        )}
      </div>
      <nav class="pager" aria-label="Pages">
        <button type="button" class="btn" disabled={state.page <= 1} onClick={() => writeState({ ...state, page: state.page - 1 })}>
          Previous
        </button>
        <span class="num" aria-live="polite">
          Page {state.page}
          {page.data && rows.length > 0 && ` · devices ${(state.page - 1) * PAGE_SIZE + 1}–${(state.page - 1) * PAGE_SIZE + rows.length}`}
        </span>
        <button type="button" class="btn" disabled={!page.data?.hasNext} onClick={() => writeState({ ...state, page: state.page + 1 })}>
          Next
        </button>
      </nav>
    </section>
  );
}

function SortHeader({ label, sort, state, onSort, class: cls }: { label: string; sort: Sort; state: ListState; onSort: (s: Sort) => void; class?: string }) {
  const active = state.sort === sort;
  const ariaSort = active ? (state.dir === "asc" ? "ascending" : "descending") : "none";
  return (
    <th scope="col" aria-sort={ariaSort} class={cls}>
      <button type="button" onClick={() => onSort(sort)}>
        {label}
        <span aria-hidden="true">{active ? (state.dir === "asc" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );
}

function Tags({ tags }: { tags: TagJson[] | undefined }) {
  const list = tags ?? [];
  const shown = list.slice(0, 3);
  return (
    <span class="tags" title={list.map((t) => `${t.key}: ${t.value}`).join(", ")}>
      {shown.map((t, i) => (
        <span class="pill" key={i}>
          {t.key}: {t.value}
        </span>
      ))}
      {list.length > shown.length && <span class="muted small">+{list.length - shown.length}</span>}
    </span>
  );
}

function Filters({ state, onChange }: { state: ListState; onChange: (change: Partial<ListState>) => void }) {
  const [q, setQ] = useState(state.q);
  const [tagKey, setTagKey] = useState("");
  const [tagValue, setTagValue] = useState("");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // The address changed from elsewhere (back, a link): the box follows.
  useEffect(() => setQ(state.q), [state.q]);
  const search = (value: string) => {
    setQ(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => onChange({ q: value }), 250);
  };
  const addTag = (e: Event) => {
    e.preventDefault();
    if (!tagKey.trim()) return;
    onChange({ tags: [...state.tags, { key: tagKey.trim(), value: tagValue.trim() }] });
    setTagKey("");
    setTagValue("");
  };
  return (
    <>
      <div class="devices-filters" role="search">
        <label class="search">
          Search by name
          <input type="search" value={q} placeholder="name, or a pattern like sensor-*" onInput={(e) => search(e.currentTarget.value)} />
        </label>
        <form class="tag-filter" onSubmit={addTag} aria-label="Filter by tag">
          <label>
            Tag key
            <input value={tagKey} onInput={(e) => setTagKey(e.currentTarget.value)} />
          </label>
          <label>
            Tag value
            <input value={tagValue} placeholder="any" onInput={(e) => setTagValue(e.currentTarget.value)} />
          </label>
          <button type="submit" class="btn" disabled={!tagKey.trim()}>
            Add tag filter
          </button>
        </form>
      </div>
      {state.tags.length > 0 && (
        <ul class="chips" aria-label="Tag filters">
          {state.tags.map((t, i) => (
            <li class="chip" key={`${t.key}:${t.value}:${i}`}>
              {t.key}: {t.value || "any"}
              <button type="button" aria-label={`Remove tag filter ${t.key}${t.value ? `: ${t.value}` : ""}`} onClick={() => onChange({ tags: state.tags.filter((_, j) => j !== i) })}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function CreateDevice({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState("");
  const [tags, setTags] = useState<TagJson[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await post<DeviceCreatedJson>("/device", { name, tags: cleanTags(tags) });
      // Its first token is in this answer only: the device's page shows it once.
      freshToken.value = { deviceId: created.device_id, name: "Default", token: created.token, permission: "full", expire_date: "never" };
      navigate(`/devices/${created.device_id}/general`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form id="create-device" class="card create-device" onSubmit={submit} aria-labelledby="create-device-title">
      <h2 id="create-device-title">New device</h2>
      <label>
        Name
        <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <TagsEditor tags={tags} onChange={setTags} />
      <ErrorText error={error} />
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? "Creating…" : "Create device"}
        </button>
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
