/**
 * The account's MQTT relays with their connection state, live: `GET /relay` once, then the
 * `relay_state` channel updates each row in place (and a relay made elsewhere reloads the list).
 */
import { useEffect, useState } from "preact/hooks";
import type { RelayJson, RelayStateEventJson } from "../../../src/http/api_types.js";
import { get } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { LiveState } from "../components/live_state.js";
import { PageHeader } from "../components/page_header.js";
import { RelayState } from "../components/relay_state.js";
import { useApi } from "../hooks/use_api.js";
import { channel } from "../live/sse.js";
import "../styles/panels.css";
import "../styles/relays.css";
import { TableScroll } from "../components/table_scroll.js";

export default function Relays() {
  const list = useApi((signal) => get<RelayJson[]>("/relay", undefined, signal), []);
  const [rows, setRows] = useState<RelayJson[] | undefined>(undefined);
  useEffect(() => {
    if (list.data) setRows([...list.data].sort((a, b) => a.name.localeCompare(b.name)));
  }, [list.data]);

  useEffect(
    () =>
      channel("relay_state", (payload) => {
        const event = payload as RelayStateEventJson;
        if (typeof event?.relay !== "string") return;
        setRows((old) => {
          if (!old) return old;
          if (event.status === null) return old.filter((r) => r.id !== event.relay);
          if (!old.some((r) => r.id === event.relay)) {
            list.reload(); // made in another tab or through the API: read it whole
            return old;
          }
          return old.map((r) => (r.id === event.relay ? { ...r, status: event.status! } : r));
        });
      }),
    [],
  );

  return (
    <section class="relays-page">
      <PageHeader title="MQTT relays">
        <LiveState />
        <a href="#/relays/new" class="btn primary">
          New relay
        </a>
      </PageHeader>
      <p class="hint page-hint">Sluice connects to other brokers as a client and takes their messages in as the mapped devices' own.</p>
      <ErrorText error={list.error} />
      {!rows ? (
        !list.error && <p class="muted" aria-busy="true">Loading…</p>
      ) : rows.length === 0 ? (
        <p class="muted">No relay yet.</p>
      ) : (
        <TableScroll label="Relays">
          <table class="grid relay-table">
            <caption class="visually-hidden">Relays and their connection state</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Broker</th>
                <th scope="col" class="num">In</th>
                <th scope="col" class="num">Out</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={`#/relays/${r.id}`}>{r.name}</a>
                  </td>
                  <td>
                    <RelayState state={r.status.state} />
                  </td>
                  <td class="mono">
                    {r.tls ? "mqtts" : "mqtt"}://{r.host}:{r.port}
                  </td>
                  <td class="num">{r.status.counters.messages_in}</td>
                  <td class="num">{r.status.counters.messages_out}</td>
                  <td class="last-error" title={r.status.last_error ?? undefined}>
                    {r.status.last_error ? (
                      <>
                        <span class="error-text">{r.status.last_error}</span>
                        {r.status.last_error_at && <span class="muted small"> ({new Date(r.status.last_error_at).toLocaleTimeString()})</span>}
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
