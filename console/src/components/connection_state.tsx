/** A device's live MQTT connection: a dot and its word (the word is what screen readers read). */
export function ConnectionState({ connected, compact }: { connected: boolean; compact?: boolean }) {
  return (
    <span class="connection-state">
      <span class={connected ? "dot on" : "dot"} aria-hidden="true" />
      <span class={compact ? "visually-hidden" : "state-word"}>{connected ? "Connected" : "Not connected"}</span>
    </span>
  );
}
