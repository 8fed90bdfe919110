/**
 * A widget's data: loaded once through its context (with the query the renderer asks for), then
 * kept current by the dashboard's live channel. `merge` folds live records into what was loaded
 * (a chart appends and trims, a card keeps the newest); when the channel says it dropped records
 * the data is loaded again. The first answer calls `ctx.ready`, which reports wait for.
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

export function useWidgetData<T>(ctx: WidgetContext, widget: WidgetJson, options: WidgetDataOptions<T>): WidgetData<T> {
  const [state, setState] = useState<WidgetData<T>>({ data: undefined, error: undefined, loading: true });
  const [round, setRound] = useState(0);
  const opts = useRef(options);
  opts.current = options;
  const key = JSON.stringify([options.query, ctx.blueprintPicks, ctx.range]);

  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    ctx.loadData(widget.id, opts.current.query, controller.signal).then(
      (results) => {
        setState({ data: opts.current.read(results), error: undefined, loading: false });
        ctx.ready(widget.id);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err), loading: false }));
        ctx.ready(widget.id);
      },
    );
    return () => controller.abort();
  }, [ctx, widget.id, widget.updated_at, key, round]);

  useEffect(() => {
    if (widget.realtime === false) return undefined;
    const offLive = ctx.onLive(widget.id, (records) => {
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
