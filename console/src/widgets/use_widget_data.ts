/**
 * A widget's data: loaded once through its context (with the query the renderer asks for), then
 * kept current by the dashboard's live channel. `merge` folds live records into what was loaded
 * (a chart appends and trims, a card keeps the newest); when the channel says it dropped records
 * the data is loaded again. The first answer calls `ctx.ready`, which reports wait for.
 *
 * A load and the live channel race: a record stored while a load is on its way may be missing
 * from the load's answer, yet arrive live before it. Records that arrive during a load are kept
 * and folded into its answer, unless the answer already holds them (by record id); without
 * `merge`, the widget loads once more. Summaries (a chart's downsample buckets) carry no record
 * ids: a raced record the answer already counted is then counted twice in its bucket, until the
 * next load: a slightly wrong average beats a missing value.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { DataRecordJson, WidgetJson, WidgetSourceResultJson } from "../../../src/http/api_types.js";
import type { WidgetContext } from "./types.js";

export interface WidgetData<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
}

export interface WidgetDataOptions<T> {
  /** The query of `GET /data/:dashboard/:widget` (bracket notation); a change loads again. */
  query: Record<string, unknown>;
  /** What the renderer keeps from the answer. */
  read(results: WidgetSourceResultJson[]): T;
  /** Live records into the current data; absent: live records cause a reload. */
  merge?(current: T, records: DataRecordJson[]): T;
}

/** Live records kept while a load is on its way (a flood past it is what `dropped` resyncs are for). */
const MAX_RACED = 10_000;

/** Ids of the records an answer holds (lists of records; summaries such as downsample buckets have none). */
function recordIds(results: WidgetSourceResultJson[]): Set<string> {
  const ids = new Set<string>();
  for (const source of results) {
    if (!Array.isArray(source.result)) continue;
    for (const item of source.result as unknown[]) {
      if (typeof item === "object" && item !== null && typeof (item as { id?: unknown }).id === "string") ids.add((item as { id: string }).id);
    }
  }
  return ids;
}

export function useWidgetData<T>(ctx: WidgetContext, widget: WidgetJson, options: WidgetDataOptions<T>): WidgetData<T> {
  const [state, setState] = useState<WidgetData<T>>({ data: undefined, error: undefined, loading: true });
  const [round, setRound] = useState(0);
  const opts = useRef(options);
  opts.current = options;
  const key = JSON.stringify([options.query, ctx.blueprintPicks, ctx.range]);
  /** Live records since the current load started; undefined when no load is on its way. */
  const during = useRef<DataRecordJson[] | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    during.current = [];
    ctx.loadData(widget.id, opts.current.query, controller.signal).then(
      (results) => {
        const raced = during.current ?? [];
        during.current = undefined;
        const { merge, read } = opts.current;
        let data = read(results);
        if (raced.length > 0) {
          if (!merge) setRound((r) => r + 1);
          else {
            const held = recordIds(results);
            const missing = raced.filter((r) => !held.has(r.id));
            if (missing.length > 0) data = merge(data, missing);
          }
        }
        setState({ data, error: undefined, loading: false });
        ctx.ready(widget.id);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        during.current = undefined;
        setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err), loading: false }));
        ctx.ready(widget.id);
      },
    );
    return () => controller.abort();
  }, [ctx, widget.id, widget.updated_at, key, round]);

  useEffect(() => {
    if (widget.realtime === false) return undefined;
    const offLive = ctx.onLive(widget.id, (records) => {
      if (during.current !== undefined && during.current.length < MAX_RACED) during.current.push(...records);
      const merge = opts.current.merge;
      if (!merge) setRound((r) => r + 1);
      else setState((s) => (s.data === undefined ? s : { ...s, data: merge(s.data, records) }));
    });
    const offResync = ctx.onResync(() => setRound((r) => r + 1));
    return () => {
      offLive();
      offResync();
    };
  }, [ctx, widget.id, widget.realtime]);

  return state;
}
