/**
 * A device's Live Inspector: its recent history (`GET /device/:id/inspector`), then the live
 * stream (`GET /device/:id/inspector/stream`, resumed right after the newest event of the
 * history, so nothing is missed or shown twice), in a virtualized list of fixed-height rows.
 *
 * Built for 1 000 events/s: events go into a bounded ring (InspectorFeed) and the list renders
 * once per animation frame, however many arrived; only the rows in view exist in the DOM; the
 * detail of a row opens in a panel outside the list, so rows never change height. Filters and
 * search apply in the browser, to the ring: the stream always brings every kind, so changing a
 * filter never loses what happened meanwhile.
 */
import { signal } from "@preact/signals";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { InspectorEventJson, InspectorSwitchJson } from "../../../../src/http/api_types.js";
import { get, put, seg } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { formatTime, InspectorDetail } from "../../components/inspector_detail.js";
import { isPayloadPreview } from "../../components/payload_view.js";
import { VirtualList } from "../../components/virtual_list.js";
import { stream, type LiveState } from "../../live/sse.js";
import type { DeviceTabProps } from "../device.js";
import { InspectorFeed } from "./inspector_feed.js";
import { GROUPS, isRefusal, KIND_GROUP, rowLabel, type KindGroup } from "./inspector_kinds.js";
import "../../styles/inspector.css";
import "../../styles/segmented.css";

/** Events kept in the browser: the list's memory is bounded whatever the rate. */
const CAPACITY = 10_000;
/** The server keeps at most 500 per device (docs/inspector.md); the history asks for all of them. */
const HISTORY = 500;
const ROW = 30;

const searchTexts = new WeakMap<InspectorEventJson, string>();
/** Summary and detail, lower-cased, computed once per event and only when a search needs it. */
function searchText(event: InspectorEventJson): string {
  let text = searchTexts.get(event);
  if (text === undefined) {
    text = `${event.summary}\n${event.detail ? JSON.stringify(event.detail) : ""}`.toLowerCase();
    searchTexts.set(event, text);
  }
  return text;
}

const previews = new WeakMap<InspectorEventJson, string>();
/** The start of what a row's event carried (payload text or hex, records), shown after its summary. */
function preview(event: InspectorEventJson): string {
  let text = previews.get(event);
  if (text === undefined) {
    const payload = event.detail?.payload ?? event.detail?.records;
    text = isPayloadPreview(payload) ? (payload.text ?? payload.hex ?? "") : payload === undefined ? "" : JSON.stringify(payload);
    text = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    previews.set(event, text);
  }
  return text;
}

const LIVE_TEXT: Record<LiveState, string> = { open: "Live", connecting: "Connecting…", closed: "Not connected" };

export default function InspectorTab({ device }: DeviceTabProps) {
  const [, rendered] = useReducer((n: number) => n + 1, 0);
  const feed = useMemo(() => new InspectorFeed(CAPACITY, () => rendered(0)), [device.id]);
  const live = useMemo(() => signal<LiveState>("connecting"), [device.id]);
  const [error, setError] = useState<unknown>(undefined);
  const [dropped, setDropped] = useState(0);
  const [selected, setSelected] = useState<InspectorEventJson | undefined>(undefined);
  const [groups, setGroups] = useState<ReadonlySet<KindGroup>>(() => new Set(GROUPS.map((g) => g.id)));
  const [search, setSearch] = useState("");
  const [enabled, setEnabled] = useState<boolean | undefined>(undefined);
  const [switching, setSwitching] = useState(false);
  const listBox = useRef<HTMLDivElement>(null);

  // History first, then the stream from right after its newest event.
  useEffect(() => {
    let closeStream: (() => void) | undefined;
    let stopped = false;
    const controller = new AbortController();
    const base = `/device/${seg(device.id)}/inspector`;
    get<InspectorSwitchJson>(`${base}/state`, undefined, controller.signal).then((s) => setEnabled(s.enabled), () => undefined);
    get<InspectorEventJson[]>(base, { limit: HISTORY }, controller.signal)
      .then(
        (history) => {
          for (let i = history.length - 1; i >= 0; i--) feed.add(history[i]!);
          return history[0]?.id ?? 0;
        },
        (err: unknown) => {
          if (!controller.signal.aborted) setError(err);
          return 0;
        },
      )
      .then((after) => {
        if (stopped) return;
        closeStream = stream(`${base}/stream?last_event_id=${after}`, (data) => feed.add(data as InspectorEventJson), live, {
          dropped: (data) => setDropped((n) => n + Number((data as { dropped?: number }).dropped ?? 0)),
        });
      });
    return () => {
      stopped = true;
      controller.abort();
      closeStream?.();
    };
  }, [device.id]);

  // Filters: kinds (checkbox groups) and text, applied to the ring at once.
  useEffect(() => {
    const needle = search.trim().toLowerCase();
    const all = groups.size === GROUPS.length;
    feed.setFilter((e) => (all || groups.has(KIND_GROUP[e.kind])) && (needle === "" || searchText(e).includes(needle)));
    rendered(0);
  }, [groups, search, feed]);

  // Rows dropped from the head of the list while the reader is scrolled up: keep their place.
  useLayoutEffect(() => {
    const trimmed = feed.trimmedShown;
    const el = listBox.current?.querySelector<HTMLElement>(".vlist");
    if (trimmed === 0 || !el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 1.5;
    if (!atEnd) el.scrollTop = Math.max(0, el.scrollTop - trimmed * ROW);
  });

  const toggleGroup = (id: KindGroup, on: boolean) => {
    const next = new Set(groups);
    if (on) next.add(id);
    else next.delete(id);
    setGroups(next);
  };

  const switchInspector = async () => {
    const before = enabled;
    // The switch shows its new state at once (as the click did), and goes back if the server refuses.
    setEnabled(!before);
    setSwitching(true);
    try {
      const s = await put<InspectorSwitchJson>(`/device/${seg(device.id)}/inspector`, { enabled: !before });
      setEnabled(s.enabled);
      setError(undefined);
    } catch (err) {
      setEnabled(before);
      setError(err);
    } finally {
      setSwitching(false);
    }
  };

  const togglePause = () => {
    if (feed.isPaused) feed.resume();
    else feed.pause();
    rendered(0);
  };

  const clear = () => {
    feed.clear();
    setSelected(undefined);
    setDropped(0);
    rendered(0);
  };

  const waiting = feed.waiting;
  const shownKinds = groups.size;
  return (
    <div class="inspector">
      <div class="toolbar insp-toolbar">
        <span class={`insp-live ${live.value}`} role="status">
          <span class={live.value === "open" ? "dot on" : "dot"} aria-hidden="true" /> {LIVE_TEXT[live.value]}
        </span>
        <button type="button" class="btn" aria-pressed={feed.isPaused} onClick={togglePause}>
          {feed.isPaused ? "Resume" : "Pause"}
        </button>
        <button type="button" class="btn" onClick={clear}>
          Clear
        </button>
        <label class="insp-search">
          <span class="visually-hidden">Search events</span>
          <input type="search" placeholder="Search events" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <details class="insp-kinds">
          <summary>
            Kinds <span class="muted">({shownKinds}/{GROUPS.length})</span>
          </summary>
          <fieldset>
            <legend class="visually-hidden">Show these kinds of events</legend>
            {GROUPS.map((g) => (
              <label key={g.id} class="inline">
                <input type="checkbox" checked={groups.has(g.id)} onChange={(e) => toggleGroup(g.id, e.currentTarget.checked)} />
                {g.label}
              </label>
            ))}
          </fieldset>
        </details>
        <label class="inline insp-switch">
          <input type="checkbox" role="switch" checked={enabled ?? false} disabled={enabled === undefined || switching} onChange={() => void switchInspector()} />
          Record events
        </label>
      </div>
      {/* Not a live region: at 1 000 events/s the counts change every frame, and a screen reader would read nothing else. */}
      <p class="insp-status muted">
        {feed.shown.length.toLocaleString()} of {feed.all.length.toLocaleString()} events shown
        {feed.isPaused && <strong class="warn"> · paused, {waiting.toLocaleString()} new waiting</strong>}
        {dropped > 0 && <span class="warn"> · {dropped.toLocaleString()} events dropped by the server (read too slowly)</span>}
        {enabled === false && <span class="warn"> · recording is off for this device: nothing new is kept</span>}
      </p>
      <ErrorText error={error} />
      <div class="insp-body">
        <div class="insp-list" ref={listBox}>
          <VirtualList
            items={feed.shown}
            rowHeight={ROW}
            follow
            label="Inspector events"
            class="insp-vlist"
            itemKey={(e) => e.id}
            empty={<p class="muted insp-empty">{feed.all.length === 0 ? "No events yet. Connect the device or publish a message." : "No event matches the filters."}</p>}
            render={(e) => (
              <button
                type="button"
                class={selected?.id === e.id ? "insp-row selected" : "insp-row"}
                aria-expanded={selected?.id === e.id}
                aria-controls="insp-detail"
                onClick={() => setSelected(selected?.id === e.id ? undefined : e)}
              >
                <time class="insp-time" dateTime={e.time}>{formatTime(e.time)}</time>
                <span class={`insp-kind k-${e.kind}${isRefusal(e) ? " refusal" : ""}`}>{rowLabel(e)}</span>
                <span class="insp-summary">{e.summary}</span>
                <span class="insp-preview">{preview(e)}</span>
              </button>
            )}
          />
        </div>
        <aside id="insp-detail" class="insp-detail" aria-labelledby={selected ? "insp-detail-title" : undefined} aria-label={selected ? undefined : "Event detail"}>
          {selected ? <InspectorDetail event={selected} onClose={() => setSelected(undefined)} /> : <p class="muted">Select an event to see its detail.</p>}
        </aside>
      </div>
    </div>
  );
}
