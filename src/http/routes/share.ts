import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { LIVE_CHANNEL } from "../../dashboards/live.js";
import { dashboardInfo, widgetInfo } from "../../dashboards/model.js";
import type { DashboardService, ShareGrant } from "../../dashboards/service.js";
import type { WidgetData } from "../../dashboards/widget_data.js";
import { SluiceError, unauthorized } from "../../errors.js";
import { TooManySubscribersError, type EventHub } from "../../events/hub.js";
import { LimitExceeded } from "../../limits/errors.js";
import { FairReads } from "../../data/fair_reads.js";
import { TokenBucket } from "../../limits/token_bucket.js";
import type { DashboardDeviceJson, SharedDashboardJson, WidgetJson } from "../api_types.js";
import { ok } from "../envelope.js";
import { documentRoutes, SECURITY, TAGS } from "../openapi.js";
import { DEFAULT_SSE_OPTIONS, endStreamsOnClose, SseStream, takeOver, type SseOptions } from "../sse.js";
import { TRUNCATED_HEADER } from "./data.js";

export interface ShareRouteDeps {
  dashboards: DashboardService;
  widgetData: WidgetData;
  hub: EventHub;
  /** Requests per minute one link may make (`dashboards.shareRequestsPerMinute`). */
  requestsPerMinute: number;
  /** Streams open at once on one link (`dashboards.shareStreamsPerKey`). */
  streamsPerKey: number;
  /**
   * Widget data reads running at once: for all links, for one link, and how many of one link's
   * may wait (`dashboards.shareReads*`). A read over a long range costs real CPU, and a link's
   * per-minute rate does not say how many run together.
   */
  reads: { concurrency: number; perKey: number; waitingPerKey: number };
  sse?: Partial<SseOptions>;
}

/** setTimeout's longest delay (about 24.8 days); a later expiry is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Ends `stream` at `at` (ms since the epoch); the returned holder's timer is the one pending now. */
function endAt(stream: SseStream, at: number): { timer: NodeJS.Timeout } {
  const holder = {} as { timer: NodeJS.Timeout };
  const arm = (): void => {
    const wait = at - Date.now();
    if (wait <= 0) return stream.end();
    holder.timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    holder.timer.unref();
  };
  arm();
  return holder;
}

/** Links whose rate is tracked at once; past it the least recently used is forgotten (it starts full again). */
const MAX_TRACKED_LINKS = 10_000;

const keyParams = { type: "object", required: ["key"], properties: { key: { type: "string", minLength: 1, maxLength: 128 } } } as const;
const widgetParams = {
  type: "object",
  required: ["key", "widget"],
  properties: { key: { type: "string", minLength: 1, maxLength: 128 }, widget: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

/**
 * A dashboard's public link (PUBLIC slot, no token: the key in the path is the credential):
 * `GET /share/:key/dashboard` (the dashboard and its widgets), `/share/:key/data/:widget` (as
 * `GET /data/:dashboard/:widget`), `/share/:key/devices` (for a blueprint's device selector:
 * ids and names only) and `/share/:key/events` (its live channel, SSE). Read only: no route
 * under `/share` takes anything but GET (others answer 404). Each link has its own request rate and stream count; an unknown,
 * revoked or expired key gets 401, and streams opened with a key end when it is revoked or
 * replaced, or its dashboard deleted. Nothing it answers holds a token.
 */
export function shareRoutes(deps: ShareRouteDeps): FastifyPluginAsync {
  const { dashboards, widgetData, hub } = deps;
  const rates = new Map<string, TokenBucket>();
  // Keyed by the link (its key's hash): one link's readers wait behind each other, not behind
  // another link's, and never hold more than their share of the slots.
  const reads = new FairReads({
    concurrency: deps.reads.concurrency, perAccount: deps.reads.perKey, waitingPerAccount: deps.reads.waitingPerKey,
    refusal: () => new LimitExceeded("dashboards.shareReadsWaitingPerKey", `this public link already has ${deps.reads.waitingPerKey} widget reads waiting`, 1000),
  });
  const sseOptions: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...deps.sse };

  /** The link's grant, counted against its rate; 401 / 429 otherwise. */
  const grantOf = async (request: FastifyRequest<{ Params: { key: string } }>, reply: FastifyReply): Promise<ShareGrant> => {
    const grant = await dashboards.resolveShare(request.params.key);
    if (!grant) throw unauthorized("This public link is unknown, revoked or expired");
    const now = Date.now();
    let bucket = rates.get(grant.keyHash);
    if (bucket) rates.delete(grant.keyHash);
    else bucket = new TokenBucket(deps.requestsPerMinute, 60_000, now);
    rates.set(grant.keyHash, bucket);
    if (rates.size > MAX_TRACKED_LINKS) rates.delete(rates.keys().next().value!);
    if (!bucket.take(now)) {
      throw new LimitExceeded("dashboards.shareRequestsPerMinute", `this public link may make ${deps.requestsPerMinute} requests per minute`, bucket.waitMs(now));
    }
    // The key is in the URL: the pages this answers must not pass it on, nor anyone keep the answer.
    void reply.header("referrer-policy", "no-referrer").header("cache-control", "no-store");
    return grant;
  };

  return async (app) => {
    documentRoutes(app, { tag: TAGS.share.name, security: SECURITY.none });
    const keep = endStreamsOnClose(app);
    const streams = new Map<string, Set<SseStream>>();
    const onRevoked = ({ dashboardId }: { dashboardId: string }) => {
      for (const stream of streams.get(dashboardId) ?? []) stream.end();
    };
    dashboards.on("shareRevoked", onRevoked);
    app.addHook("onClose", async () => {
      dashboards.off("shareRevoked", onRevoked);
    });

    app.get<{ Params: { key: string } }>("/share/:key/dashboard", { schema: { params: keyParams } }, async (request, reply) => {
      const { accountId, dashboardId } = await grantOf(request, reply);
      const d = await dashboards.get(accountId, dashboardId);
      const shared: SharedDashboardJson = { dashboard: dashboardInfo(d), widgets: (await dashboards.widgets(accountId, d.id)).map((w) => publicWidget(widgetInfo(w))) };
      return ok(shared);
    });

    app.get<{ Params: { key: string; widget: string } }>("/share/:key/data/:widget", { schema: { params: widgetParams } }, async (request, reply) => {
      const { accountId, dashboardId, keyHash } = await grantOf(request, reply);
      const dashboard = await dashboards.get(accountId, dashboardId);
      const widget = await dashboards.widget(accountId, dashboardId, request.params.widget);
      const { json, truncated } = await reads.run(keyHash, () => widgetData.get(accountId, dashboard, widget, request.query as Record<string, unknown>));
      if (truncated) void reply.header(TRUNCATED_HEADER, "bytes");
      return ok({ ...json, widget: publicWidget(json.widget) });
    });

    app.get<{ Params: { key: string } }>("/share/:key/devices", { schema: { params: keyParams } }, async (request, reply) => {
      const { accountId, dashboardId } = await grantOf(request, reply);
      const d = await dashboards.get(accountId, dashboardId);
      const related = await widgetData.related(accountId, d, await dashboards.widgets(accountId, d.id));
      return ok(related.map(({ id, name, blueprint_devices }): DashboardDeviceJson => ({ id, name, blueprint_devices })));
    });

    app.get<{ Params: { key: string } }>("/share/:key/events", { schema: { params: keyParams } }, async (request, reply) => {
      const { accountId, dashboardId, keyHash, expiresAt } = await grantOf(request, reply);
      const channel = `${LIVE_CHANNEL}.${dashboardId}`;
      let sequence = 0;
      let unsubscribe: () => void;
      try {
        unsubscribe = hub.subscribe(accountId, [channel], (_channel, payload) => {
          stream.send(++sequence, JSON.stringify({ channel: LIVE_CHANNEL, payload }));
        }, { key: `share\n${keyHash}`, max: deps.streamsPerKey });
      } catch (err) {
        if (err instanceof TooManySubscribersError) throw new SluiceError(err.code, `at most ${deps.streamsPerKey} live streams per public link (dashboards.shareStreamsPerKey)`, 429);
        throw err;
      }
      const stream = new SseStream(takeOver(reply), sseOptions);
      keep(stream);
      let open = streams.get(dashboardId);
      if (!open) streams.set(dashboardId, (open = new Set()));
      open.add(stream);
      // A link that expires ends its streams then, as a revoked one does: the key no longer
      // opens anything, so it must not keep receiving what it was let in to see.
      const expiry = expiresAt === null ? undefined : endAt(stream, expiresAt);
      stream.onClose(() => {
        if (expiry) clearTimeout(expiry.timer);
        unsubscribe();
        open.delete(stream);
        if (open.size === 0 && streams.get(dashboardId) === open) streams.delete(dashboardId);
      });
    });
  };
}

/**
 * A widget as a public link shows it: without a control's MQTT downlink (`display.downlink`),
 * whose topic and payload templates are the owner's business; the share view's controls are
 * disabled and never need it.
 */
function publicWidget(widget: WidgetJson): WidgetJson {
  const display = widget.display;
  if (typeof display !== "object" || display === null || !("downlink" in display)) return widget;
  const { downlink: _hidden, ...rest } = display as Record<string, unknown>;
  return { ...widget, display: rest };
}
