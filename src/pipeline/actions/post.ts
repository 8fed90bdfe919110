import { invalid } from "../../errors.js";
import type { WebhookDelivery } from "../../notify/webhook_delivery.js";
import type { OutboundGuard } from "../../outbound/guard.js";
import type { ActionContext, ActionHandler } from "./registry.js";
import { fillTemplate } from "./template.js";

const MAX_URL = 2048;
const MAX_HEADERS = 30;
const MAX_HEADER_VALUE = 4096;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the HTTP client from the body and URL; a user's value would break the request. */
const RESERVED = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "expect", "te", "trailer"]);

/**
 * "Webhook" (TagoIO's `post`): POSTs the triggering records, with the action, device and event,
 * as JSON to `url` with the action's `headers`. The URL and header values take template.ts
 * placeholders. Delivery (retries, dead letters) is WebhookDelivery's, off the message path:
 * the run only queues it.
 *
 * Body: `{ action: { id, name, trigger }, device: { id, name } | null, event?: { kind, reason },
 * topic?, data: [{ variable, value, unit, group, time, location, metadata }] }`.
 */
export function postAction(webhooks: Pick<WebhookDelivery, "enqueue">, guard?: Pick<OutboundGuard, "refusal">): ActionHandler {
  return {
    type: "post",
    stores: false,
    validate(params) {
      if (typeof params.url !== "string" || params.url.trim() === "") throw invalid("action.url is required");
      if (params.url.length > MAX_URL) throw invalid(`action.url is longer than ${MAX_URL} characters`);
      // Placeholders stand for text that cannot change the scheme or make the URL unparseable.
      const url = checkUrl(params.url.replace(/\$[A-Z_]+\$/g, "x"));
      // A forbidden IP literal is refused now (400); a name is judged when delivering, on the
      // address it resolves to then (webhook_delivery.ts).
      const refused = guard?.refusal(url.hostname, Number(url.port || (url.protocol === "https:" ? 443 : 80)));
      if (refused) throw refused;
      return { type: "post", url: params.url.trim(), headers: headersOf(params.headers) };
    },
    async run(context) {
      const p = context.action.action;
      const url = fillTemplate(String(p.url), context);
      checkUrl(url);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries((p.headers ?? {}) as Record<string, string>)) {
        headers[name] = fillTemplate(value, context).replace(/[\r\n]+/g, " ");
      }
      const queued = webhooks.enqueue({
        accountId: context.action.accountId, actionId: context.action.id, actionName: context.action.name,
        ...(context.device ? { deviceId: context.device.id } : {}), url, headers, body: JSON.stringify(webhookBody(context)),
      });
      return { summary: queued ? `POST to ${url} queued` : `POST to ${url} dead-lettered: too many deliveries pending` };
    },
  };
}

export function webhookBody({ action, device, records, message, event }: ActionContext): Record<string, unknown> {
  return {
    action: { id: action.id, name: action.name, trigger: action.type },
    device: device ? { id: device.id, name: device.name } : null,
    ...(event ? { event } : {}),
    ...(message ? { topic: message.topic } : {}),
    data: records.map((r) => ({
      variable: r.variable, value: r.value, unit: r.unit, group: r.group, time: r.time.toISOString(), location: r.location, metadata: r.metadata,
    })),
  };
}

function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`action.url "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("action.url must be an http:// or https:// URL");
  return url;
}

/** `{ name: value }`, or the `[{ key, value }]` list TagoIO's UI stores; values as strings. */
function headersOf(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object") throw invalid("action.headers must be an object of header names and values");
  const entries: [unknown, unknown][] = Array.isArray(raw)
    ? raw.map((h: { key?: unknown; value?: unknown }) => [h?.key, h?.value])
    : Object.entries(raw);
  if (entries.length > MAX_HEADERS) throw invalid(`action.headers has more than ${MAX_HEADERS} headers`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (typeof name !== "string" || !HEADER_NAME.test(name)) throw invalid(`action.headers: "${String(name)}" is not a header name`);
    if (RESERVED.has(name.toLowerCase())) throw invalid(`action.headers: ${name} is set by Sluice`);
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") throw invalid(`action.headers.${name} must be a string`);
    const text = String(value);
    if (text.length > MAX_HEADER_VALUE || /[\r\n\0]/.test(text)) throw invalid(`action.headers.${name} is too long or holds a line break`);
    out[name] = text;
  }
  return out;
}
