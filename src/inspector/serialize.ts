import type { InspectorEvent, InspectorEventKind } from "./types.js";

/** An inspector event as the HTTP API and the SSE stream send it (snake_case, like TagoIO's API). */
export interface InspectorEventJson {
  id: number;
  device_id: string;
  /** ISO 8601. */
  time: string;
  kind: InspectorEventKind;
  summary: string;
  detail: Record<string, unknown> | null;
}

export function serializeEvent(event: InspectorEvent): InspectorEventJson {
  return {
    id: event.id,
    device_id: event.deviceId,
    time: event.time.toISOString(),
    kind: event.kind,
    summary: event.summary,
    detail: event.detail ?? null,
  };
}
