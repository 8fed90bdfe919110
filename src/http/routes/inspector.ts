import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { invalid, unauthorized } from "../../errors.js";
import type { AccountPrincipal, IdentityService } from "../../identity/service.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Inspector, type ListOptions } from "../../inspector/inspector.js";
import { isInspectorEventKind } from "../../inspector/kinds.js";
import { eventSseText, serializeEvent } from "../../inspector/serialize.js";
import type { InspectorEvent, InspectorEventKind } from "../../inspector/types.js";
import type { InspectorSwitchJson } from "../api_types.js";
import type { QueryValue } from "../query.js";
import { accountOf, resolveAccount, type SessionAuthenticator } from "../auth.js";
import { ok } from "../envelope.js";
import { DEFAULT_SSE_OPTIONS, endStreamsOnClose, endStreamsOnRevocation, SseStream, takeOver, type SseOptions } from "../sse.js";
import { documentRoutes, SECURITY, TAGS } from "../openapi.js";

export interface InspectorRouteDeps {
  identity: IdentityService;
  inspector: Inspector;
  /** Sign-in sessions: the stream also opens with the `sluice_session` cookie when no token is sent. */
  sessions?: SessionAuthenticator;
  /**
   * In a cluster, the device's events recorded on the other nodes, newest first, and how to
   * merge them with this node's (cluster/inspector_history.ts). Absent on one node.
   */
  history?: RemoteHistory;
}

export interface RemoteHistory {
  remote(accountId: string, deviceId: string, options: ListOptions): Promise<InspectorEvent[]>;
  merge(local: readonly InspectorEvent[], remote: readonly InspectorEvent[], limit: number): InspectorEvent[];
}

/** This node's events matching `options`, with the other nodes' when in a cluster, newest first. */
async function listEverywhere(deps: InspectorRouteDeps, accountId: string, deviceId: string, options: ListOptions & { limit: number }): Promise<InspectorEvent[]> {
  if (!deps.history) return deps.inspector.list(deviceId, options);
  const remote = await deps.history.remote(accountId, deviceId, options);
  // Read after the wait, so live-relayed copies that came meanwhile are merged with their originals.
  return deps.history.merge(deps.inspector.list(deviceId, options), remote, options.limit);
}

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

type Query = Record<string, QueryValue | undefined>;

/**
 * The live inspector over HTTP, for the ACCOUNT slot (behind `accountAuth`):
 * `GET /device/:id/inspector?kinds=a,b&search=s&limit=50&before=ID|ISO&since=ID|ISO` lists the
 * device's recent events, newest first; `PUT /device/:id/inspector` `{ enabled }` is the
 * start/stop switch, and `GET /device/:id/inspector/state` reads it (so a UI can show the
 * switch as it is before anyone flips it).
 */
export function inspectorRoutes(deps: InspectorRouteDeps): FastifyPluginAsync {
  const { identity, inspector } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.inspector.name });
    app.get<{ Params: { id: string }; Querystring: Query }>("/device/:id/inspector", { schema: { params: idParams } }, async (request) => {
      const accountId = accountOf(request);
      const device = await identity.getDevice(accountId, request.params.id);
      const query = request.query;
      const events = await listEverywhere(deps, accountId, device.id, {
        kinds: parseKinds(query.kinds),
        search: single(query.search, "search"),
        limit: parseInteger(query.limit, "limit", 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE,
        before: parseBound(query.before, "before"),
        since: parseBound(query.since, "since"),
      });
      return ok(events.map(serializeEvent));
    });

    app.get<{ Params: { id: string } }>("/device/:id/inspector/state", { schema: { params: idParams } }, async (request) => {
      const device = await identity.getDevice(accountOf(request), request.params.id);
      return ok(switchJson(device.id));
    });

    app.put<{ Params: { id: string }; Body: { enabled: boolean } }>(
      "/device/:id/inspector",
      {
        schema: {
          params: idParams,
          body: { type: "object", required: ["enabled"], properties: { enabled: { type: "boolean" } } },
        },
      },
      async (request) => {
        const device = await identity.getDevice(accountOf(request), request.params.id);
        await inspector.setEnabled(device.id, request.body.enabled);
        return ok(switchJson(device.id));
      },
    );
  };

  function switchJson(deviceId: string): InspectorSwitchJson {
    return { device_id: deviceId, enabled: inspector.isEnabled(deviceId) };
  }
}

/**
 * For the PUBLIC slot: `GET /device/:id/inspector/stream`, the live inspector as Server-Sent
 * Events. It authenticates itself because a browser's EventSource cannot set headers: the
 * account token comes in the `token` header or else `?token=` (which then sits in URLs and
 * proxy logs: use the header where the client can), or else a signed-in session's cookie. Query: `backlog=N` recent events first
 * (default 50, 0 for live only), `kinds=a,b`; `Last-Event-ID` (or `?last_event_id=`) resumes
 * after that event instead of sending a backlog (in a cluster the backlog holds other nodes' events
 * too, sent without an id; a resumed stream gets this node's only). The stream ends when its token is revoked or
 * expires (the identity service's `revoked` event) and when the device is deleted.
 */
export function inspectorStreamRoutes(deps: InspectorRouteDeps & { sse?: Partial<SseOptions> }): FastifyPluginAsync {
  const { identity, inspector } = deps;
  const sseOptions: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...deps.sse };
  return async (app) => {
    documentRoutes(app, { tag: TAGS.inspector.name, security: SECURITY.accountStream });
    const keep = endStreamsOnClose(app);
    const bindToToken = endStreamsOnRevocation(app, identity);

    app.get<{ Params: { id: string }; Querystring: Query }>("/device/:id/inspector/stream", { schema: { params: idParams } }, async (request, reply) => {
      const { accountId, tokenId } = await authenticate(identity, request, deps.sessions);
      const device = await identity.getDevice(accountId, request.params.id);
      const query = request.query;
      const kinds = parseKinds(query.kinds);
      const wanted = kinds === undefined ? undefined : new Set<string>(kinds);
      const resumeAfter = parseInteger(headerValue(request.headers["last-event-id"]) ?? query.last_event_id, "last_event_id", 0, Number.MAX_SAFE_INTEGER);
      const backlogSize = parseInteger(query.backlog, "backlog", 0, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
      // Other nodes' events for a fresh backlog, asked before the section below that must not
      // await. A resumed stream gets this node's events only: its Last-Event-ID is this node's.
      const remote = deps.history && resumeAfter === undefined && backlogSize > 0 ? await deps.history.remote(accountId, device.id, { kinds, limit: backlogSize }) : [];

      // Refused (429) before the response is taken over; released when the stream closes.
      const release = inspector.admitStream(accountId);
      // From here on the route writes the response itself; nothing below awaits, so no event
      // can be recorded between reading the backlog and subscribing.
      const stream = new SseStream(takeOver(reply), sseOptions);
      stream.onClose(release);
      const local = new Set<InspectorEvent>();
      // Another node's event goes without an id: a stream resumes by this node's ids only.
      const send = (event: InspectorEvent) => local.has(event) ? stream.send(event.id, JSON.stringify(serializeEvent(event))) : stream.sendUnnumbered(JSON.stringify(serializeEvent(event)));
      const own =
        resumeAfter !== undefined
          ? inspector.list(device.id, { kinds, since: resumeAfter, limit: MAX_PAGE_SIZE })
          : backlogSize > 0
            ? inspector.list(device.id, { kinds, limit: backlogSize })
            : [];
      for (const event of own) local.add(event);
      const backlog = remote.length > 0 && deps.history ? deps.history.merge(own, remote, backlogSize) : own;
      for (let i = backlog.length - 1; i >= 0; i--) send(backlog[i]!); // oldest first, as they happened
      if (stream.closed) return; // dropped while sending the backlog

      const unsubscribe = inspector.subscribe(
        device.id,
        (events) => {
          // Each event's text is shared by every stream sending it; one write per batch.
          const texts: string[] = [];
          for (const event of events) if (wanted === undefined || wanted.has(event.kind)) texts.push(eventSseText(event));
          if (texts.length > 0) stream.offer(texts);
        },
        () => stream.end(), // the device was deleted
      );
      keep(stream);
      bindToToken(stream, tokenId);
      stream.onClose(unsubscribe);
    });
  };
}

async function authenticate(identity: IdentityService, request: FastifyRequest<{ Querystring: Query }>, sessions: SessionAuthenticator | undefined): Promise<AccountPrincipal> {
  const { principal, presented } = await resolveAccount(request, identity, sessions, true);
  if (principal === undefined) throw unauthorized(presented ? undefined : "Authorization denied: send an account token in the `token` header or `?token=`, or sign in");
  return principal;
}

function headerValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

/** One string from the query, rejecting arrays and objects (`a=1&a=2`, `a[b]=1`). */
function single(value: QueryValue | undefined, name: string): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  throw invalid(`${name} must be given once, as text`);
}

/** `kinds=a,b`, `kinds=a&kinds=b` or `kinds[]=a`; unknown kinds are a 400 naming them. */
function parseKinds(value: QueryValue | undefined): InspectorEventKind[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((item) => {
    if (typeof item !== "string") throw invalid("kinds must be a comma-separated list");
    return item.split(",").map((kind) => kind.trim()).filter((kind) => kind !== "");
  });
  const kinds = items.filter(isInspectorEventKind);
  if (kinds.length < items.length) throw invalid(`unknown inspector event kind: ${items.filter((kind) => !isInspectorEventKind(kind)).join(", ")}`);
  return kinds.length === 0 ? undefined : kinds;
}

function parseInteger(value: QueryValue | undefined, name: string, min: number, max: number): number | undefined {
  const text = single(value, name);
  if (text === undefined || text === "") return undefined;
  const number = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) throw invalid(`${name} must be an integer from ${min} to ${max}`);
  return number;
}

/** An event id (digits) or a date. */
function parseBound(value: QueryValue | undefined, name: string): number | Date | undefined {
  const text = single(value, name);
  if (text === undefined || text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw invalid(`${name} must be an event id or a date`);
  return date;
}
