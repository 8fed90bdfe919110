/** Whether the shared `/events` stream is open: "Live" pages say so, and say when they are not. */
import { eventsState } from "../live/sse.js";
import "../styles/live_state.css";

export function LiveState() {
  const state = eventsState.value;
  return (
    <span class={`live-state ${state}`} role="status">
      <span class={state === "open" ? "dot on" : "dot"} aria-hidden="true" />
      {state === "open" ? "Live" : state === "connecting" ? "Connecting…" : "Not live"}
    </span>
  );
}
