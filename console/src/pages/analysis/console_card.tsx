/**
 * The analysis's console, live: the lines the server still holds (`GET /analysis/:id/logs`),
 * then each new one from the `analysis_console.<id>` channel. Lines arriving in a burst are
 * added once per frame; the list is virtual and bounded, and follows the end while the reader
 * is there. A line opens in full below the list (long JSON does not fit a row).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { AnalysisConsoleEventJson, AnalysisConsoleLineJson } from "../../../../src/http/api_types.js";
import { del, get, seg } from "../../api/client.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";
import { VirtualList } from "../../components/virtual_list.js";
import { LiveState } from "../../components/live_state.js";
import { channel } from "../../live/sse.js";

interface Line extends AnalysisConsoleLineJson {
  key: number;
}

/** Lines kept on screen; the oldest go first (the server keeps its own bounded history). */
const MAX_LINES = 5000;
const ROW = 24;

export function ConsoleCard({ analysisId }: { analysisId: string }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [selected, setSelected] = useState<Line | undefined>(undefined);
  const nextKey = useRef(0);

  useEffect(() => {
    let live = true;
    let loaded = false;
    let pending: AnalysisConsoleLineJson[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setLines((old) => bounded([...old, ...batch.map((l) => ({ ...l, key: nextKey.current++ }))]));
    };
    const stop = channel(`analysis_console.${analysisId}`, (payload) => {
      const line = payload as AnalysisConsoleEventJson;
      if (!live || line?.analysis_id !== analysisId || typeof line.message !== "string") return;
      pending.push({ timestamp: line.timestamp, message: line.message });
      if (loaded && frame === 0) frame = requestAnimationFrame(flush);
    });
    get<AnalysisConsoleLineJson[]>(`/analysis/${seg(analysisId)}/logs`).then(
      (history) => {
        if (!live) return;
        loaded = true;
        // Lines that came live while the history was read may be in it already.
        const tail = new Set(history.slice(-pending.length - 1).map((l) => `${l.timestamp}\n${l.message}`));
        pending = pending.filter((l) => !tail.has(`${l.timestamp}\n${l.message}`));
        setLines(bounded(history.map((l) => ({ ...l, key: nextKey.current++ }))));
        if (pending.length > 0) frame = requestAnimationFrame(flush);
      },
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
      cancelAnimationFrame(frame);
      stop();
    };
  }, [analysisId]);

  const clear = async () => {
    setError(undefined);
    try {
      await del(`/analysis/${seg(analysisId)}/logs`);
      setLines([]);
      setSelected(undefined);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section class="card console-card" aria-labelledby="console-title">
      <div class="card-head">
        <h2 id="console-title">Console</h2>
        <LiveState />
        <div class="actions">
          <button type="button" class="btn small" onClick={() => void clear()} disabled={lines.length === 0}>
            Clear console
          </button>
        </div>
      </div>
      <ErrorText error={error} />
      <VirtualList
        items={lines}
        rowHeight={ROW}
        follow
        label="Console lines"
        class="console-lines"
        itemKey={(l) => l.key}
        empty={<p class="muted empty">No output yet. Run the analysis: what it logs appears here.</p>}
        render={(l) => (
          <button type="button" class={selected?.key === l.key ? "console-line selected" : "console-line"} onClick={() => setSelected(l)} title={l.message}>
            <time dateTime={l.timestamp} class="muted">
              {new Date(l.timestamp).toLocaleTimeString()}
            </time>
            <span class="console-text">{l.message}</span>
          </button>
        )}
      />
      {selected && (
        <div class="console-detail">
          <div class="card-head">
            <span class="muted small">{new Date(selected.timestamp).toLocaleString()}</span>
            <div class="actions">
              <CopyButton text={selected.message} label="console line" />
              <button type="button" class="btn small" onClick={() => setSelected(undefined)}>
                Close
              </button>
            </div>
          </div>
          <pre class="console-full" tabIndex={0} role="region" aria-label="The whole console line">
            {selected.message}
          </pre>
        </div>
      )}
    </section>
  );
}

function bounded(lines: Line[]): Line[] {
  return lines.length > MAX_LINES ? lines.slice(lines.length - MAX_LINES) : lines;
}
