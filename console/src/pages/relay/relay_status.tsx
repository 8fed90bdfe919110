/**
 * A relay's connection, live: `GET /relay/:id/status` (status, counters, last events), read
 * again whenever the `relay_state` channel says this relay changed; the state itself comes
 * straight from the event, so it shows at once.
 */
import { useEffect, useState } from "preact/hooks";
import type { RelayCountersJson, RelayStateEventJson, RelayStatusDetailJson } from "../../../../src/http/api_types.js";
import { get, seg } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { LiveState } from "../../components/live_state.js";
import { RelayState } from "../../components/relay_state.js";
import { channel } from "../../live/sse.js";

const COUNTERS: [keyof RelayCountersJson, string][] = [
  ["messages_in", "received"],
  ["messages_out", "sent (downlink)"],
  ["queued", "downlink queued"],
  ["dropped", "downlink dropped"],
  ["unmapped", "without a device"],
  ["failed", "refused by the pipeline"],
  ["reconnects", "reconnects"],
  ["busy_dropped", "QoS 0 dropped (busy)"],
];

export function RelayStatus({ relayId }: { relayId: string }) {
  const [status, setStatus] = useState<RelayStatusDetailJson | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [round, setRound] = useState(0);

  useEffect(() => {
    let live = true;
    get<RelayStatusDetailJson>(`/relay/${seg(relayId)}/status`).then(
      (s) => live && (setStatus(s), setError(undefined)),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [relayId, round]);

  useEffect(
    () =>
      channel("relay_state", (payload) => {
        const event = payload as RelayStateEventJson;
        if (event?.relay !== relayId || !event.status) return;
        setStatus((old) => (old ? { ...old, ...event.status! } : old));
        setRound((r) => r + 1); // the events list and counters
      }),
    [relayId],
  );

  return (
    <section class="card relay-status" aria-labelledby="relay-status-title">
      <div class="card-head">
        <h2 id="relay-status-title">Connection</h2>
        <LiveState />
        <div class="actions">
          <button type="button" class="btn small" onClick={() => setRound((r) => r + 1)}>
            Refresh counters
          </button>
        </div>
      </div>
      <ErrorText error={error} />
      {status && (
        <>
          <p class="relay-now" role="status">
            <RelayState state={status.state} />
            {status.connected_at && <span class="muted small"> since {new Date(status.connected_at).toLocaleString()}</span>}
          </p>
          {status.last_error && (
            <p class="small">
              Last error{status.last_error_at && ` (${new Date(status.last_error_at).toLocaleString()})`}: <span class="error-text">{status.last_error}</span>
            </p>
          )}
          <div class="counters">
            {COUNTERS.map(([k, what]) => (
              <div class="counter" key={k}>
                <span class="n">{status.counters[k]}</span>
                <span class="what">{what}</span>
              </div>
            ))}
          </div>
          <h3 class="small">Recent events</h3>
          {status.events.length === 0 ? (
            <p class="muted small relay-events-empty">None yet.</p>
          ) : (
            <ul class="relay-events" aria-label="Recent relay events, newest first" tabIndex={0}>
              {status.events.map((e, i) => (
                <li key={`${e.time}-${i}`}>
                  <time class="muted" dateTime={e.time}>
                    {new Date(e.time).toLocaleTimeString()}
                  </time>
                  <span class={e.kind === "error" ? "error-text" : e.kind === "connect" ? "ok" : ""}>{e.kind}</span>
                  <span class="summary">{e.summary}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
