/**
 * The console's one SSE client. Every live view goes through it:
 * - `channel(name, listener)`: the account's `/events` stream (notifications, analysis
 *   console, ...). However many views listen, the page holds ONE EventSource, opened with the
 *   union of the channels wanted; it is reopened (once, after the current task) when that set
 *   changes, and closed when nobody listens.
 * - `stream(url, listener)`: a resource's own stream (a device's inspector), same reconnect
 *   rules; the browser resends `Last-Event-ID`, so a resumed stream misses nothing the server
 *   still holds.
 * Authentication is the session cookie, which EventSource sends on same-origin requests.
 */
import { signal, type Signal } from "@preact/signals";

export type LiveState = "connecting" | "open" | "closed";
export type Listener = (payload: unknown, id: string) => void;

/** State of the shared `/events` stream, for the header's "live" indicator. */
export const eventsState = signal<LiveState>("closed");

const listeners = new Map<string, Set<Listener>>();
let source: EventSource | undefined;
let openChannels = "";
let reopenQueued = false;

/** Listens to one `/events` channel (`notification`, `analysis_console.<id>`, ...). */
export function channel(name: string, listener: Listener): () => void {
  let set = listeners.get(name);
  if (!set) listeners.set(name, (set = new Set()));
  set.add(listener);
  queueReopen();
  return () => {
    set!.delete(listener);
    if (set!.size === 0) listeners.delete(name);
    queueReopen();
  };
}

function queueReopen(): void {
  if (reopenQueued) return;
  reopenQueued = true;
  queueMicrotask(() => {
    reopenQueued = false;
    const wanted = [...listeners.keys()].sort().join(",");
    if (wanted === openChannels && source) return;
    source?.close();
    source = undefined;
    openChannels = wanted;
    if (wanted === "") {
      eventsState.value = "closed";
      return;
    }
    source = open(`/events?channels=${encodeURIComponent(wanted)}`, eventsState, (data, id) => {
      const message = data as { channel?: string; payload?: unknown };
      if (typeof message.channel !== "string") return;
      // The server names the channel without its id; a listener of `name.id` filters on payload.
      for (const [name, set] of listeners) {
        if (name === message.channel || name.startsWith(`${message.channel}.`)) for (const l of set) l(message.payload, id);
      }
    });
  });
}

/**
 * A resource's own stream; `state` follows it. `named` listens to events the server sends
 * under a name (`event: dropped` when a slow reader lost live events). Returns the function
 * that closes it.
 */
export function stream(url: string, listener: Listener, state: Signal<LiveState> = signal("closed"), named: Record<string, Listener> = {}): () => void {
  const es = open(url, state, listener);
  for (const [name, onNamed] of Object.entries(named)) es.addEventListener(name, (event) => deliver(event as MessageEvent<string>, onNamed));
  return () => {
    es.close();
    state.value = "closed";
  };
}

function open(url: string, state: Signal<LiveState>, onData: Listener): EventSource {
  state.value = "connecting";
  const es = new EventSource(url);
  es.onopen = () => {
    state.value = "open";
  };
  // EventSource retries by itself after a network error; CLOSED means the server refused
  // (401 after sign-out, 429): then it stays closed and says so.
  es.onerror = () => {
    state.value = es.readyState === EventSource.CLOSED ? "closed" : "connecting";
  };
  es.onmessage = (event: MessageEvent<string>) => deliver(event, onData);
  return es;
}

function deliver(event: MessageEvent<string>, onData: Listener): void {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return; // a comment or keep-alive the server did not mean as data
  }
  onData(data, event.lastEventId);
}
