/** A relay's connection state as a coloured dot and a word (the word carries it; the colour only helps). */
import type { RelayStateName } from "../../../src/http/api_types.js";
import "../styles/relay_state.css";

const LABEL: Record<RelayStateName, string> = {
  connected: "Connected",
  connecting: "Connecting…",
  disconnected: "Disconnected, retrying",
  stopped: "Stopped",
};

export function RelayState({ state }: { state: RelayStateName }) {
  return (
    <span class={`relay-state ${state}`}>
      <span class={state === "connected" ? "dot on" : "dot"} aria-hidden="true" />
      {LABEL[state]}
    </span>
  );
}
