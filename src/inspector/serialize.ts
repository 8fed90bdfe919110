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

/**
 * An event as one Server-Sent Events message (`id:` and `data:` lines), serialized once however
 * many streams send it: the text is kept beside the event while the event lives.
 */
const sseTexts = new WeakMap<InspectorEvent, string>();
export function eventSseText(event: InspectorEvent): string {
  let text = sseTexts.get(event);
  if (text === undefined) {
    text = `id: ${event.id}\ndata: ${JSON.stringify(serializeEvent(event))}\n\n`;
    sseTexts.set(event, text);
  }
  return text;
}
