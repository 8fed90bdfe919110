import type { DeviceTabProps } from "../device.js";

// Placeholder until this tab is built.
export default function Tab(_props: DeviceTabProps) {
  return <p class="muted">general</p>;
}
