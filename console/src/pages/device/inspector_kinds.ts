/**
 * How the Live Inspector names and groups event kinds: the short label on a row, and the
 * groups the kind filter offers (nine checkboxes fit a phone; fourteen kinds would not).
 * `Record<InspectorEventKind, …>` makes a kind added on the server fail the console's build
 * until it has a label and a group here.
 */
import type { InspectorEventJson, InspectorEventKind } from "../../../../src/http/api_types.js";

export const KIND_LABEL: Record<InspectorEventKind, string> = {
  connect: "connect",
  disconnect: "disconnect",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  message_in: "in",
  message_out: "out",
  http_in: "http in",
  parser_input: "parser in",
  parser_output: "parser out",
  parser_log: "console",
  action: "action",
  stored: "stored",
  error: "error",
  dead_letter: "dead letter",
};

export type KindGroup = "connections" | "subscriptions" | "in" | "out" | "parser" | "actions" | "stored" | "errors" | "dead_letters";

export const KIND_GROUP: Record<InspectorEventKind, KindGroup> = {
  connect: "connections",
  disconnect: "connections",
  subscribe: "subscriptions",
  unsubscribe: "subscriptions",
  message_in: "in",
  http_in: "in",
  message_out: "out",
  parser_input: "parser",
  parser_output: "parser",
  parser_log: "parser",
  action: "actions",
  stored: "stored",
  error: "errors",
  dead_letter: "dead_letters",
};

export const GROUPS: { id: KindGroup; label: string }[] = [
  { id: "connections", label: "Connections" },
  { id: "subscriptions", label: "Subscriptions" },
  { id: "in", label: "Messages in" },
  { id: "out", label: "Messages out" },
  { id: "parser", label: "Parser" },
  { id: "actions", label: "Actions" },
  { id: "stored", label: "Stored" },
  { id: "errors", label: "Errors and refusals" },
  { id: "dead_letters", label: "Dead letters" },
];

/** A plan's limit refused something (an `error` with code LIMIT_EXCEEDED): labelled apart from other errors. */
export function isRefusal(event: InspectorEventJson): boolean {
  return event.kind === "error" && event.detail?.code === "LIMIT_EXCEEDED";
}

/** The row's badge text. */
export function rowLabel(event: InspectorEventJson): string {
  return isRefusal(event) ? "refused" : KIND_LABEL[event.kind];
}
