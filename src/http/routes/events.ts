import type { FastifyPluginAsync } from "fastify";
import { invalid, SluiceError, unauthorized } from "../../errors.js";
import { TooManySubscribersError, type EventHub } from "../../events/hub.js";
import type { QueryValue } from "../query.js";
import { sessionOfRequest, streamToken, type SessionAuthenticator } from "../auth.js";
import { DEFAULT_SSE_OPTIONS, endStreamsOnClose, endStreamsOnRevocation, SseStream, takeOver, type RevocationSource, type SseOptions } from "../sse.js";
import { documentRoutes, SECURITY, TAGS } from "../openapi.js";

/** Who a token is, as far as event channels care. */
export interface EventSubject {
  accountId: string;
  /** The token's row: the stream ends when a `revoked` event names it. */
  tokenId: string;
  /**
   * Set when the token is an analysis token: `analysis_trigger` then means this analysis, and
   * another analysis's `analysis_trigger.<id>` is refused (its events carry that analysis's token).
   */
  analysisId?: string;
}

export interface EventRouteDeps {
  hub: EventHub;
  /** Resolves the request's token; undefined when it is not valid. */
  resolveToken(token: string): Promise<EventSubject | undefined>;
  /** Sign-in sessions: without a token, the `sluice_session` cookie opens the stream (its id stands for the token's). */
  sessions?: SessionAuthenticator;
  /** The identity service: its `revoked` events end the streams of the tokens they name. */
  revocations: RevocationSource;
  sse?: Partial<SseOptions>;
}

/** Channels without an id whose events concern one analysis: the token's. */
const PER_ANALYSIS = new Set(["analysis_trigger"]);
const CHANNEL = /^[a-z_]{1,40}(\.[A-Za-z0-9_-]{1,100})?$/;
const MAX_CHANNELS = 20;

/**
 * For the PUBLIC slot: `GET /events?channels=a,b.id&token=T`, TagoIO's SSE endpoint as the
 * SDK's `openSSEListening` opens it. Each event is `data: {"channel":"…","payload":…}`.
 * The token may also come in the `token` header; without a token, a signed-in session's cookie
 * opens it (GET needs no CSRF header, so a browser's EventSource can). A channel without an id that concerns one
 * analysis (`analysis_trigger`) is bound to the analysis whose token opened the stream; an
 * analysis token asking for another analysis's `analysis_trigger.<id>` gets a 403. The stream
 * ends within the expiry watch's tick of its token being revoked, replaced or expiring.
 */
export function eventRoutes(deps: EventRouteDeps): FastifyPluginAsync {
  const sseOptions: SseOptions = { ...DEFAULT_SSE_OPTIONS, ...deps.sse };
  return async (app) => {
    documentRoutes(app, { tag: TAGS.events.name, security: SECURITY.accountStream });
    const keep = endStreamsOnClose(app);
    const bindToToken = endStreamsOnRevocation(app, deps.revocations);

    app.get<{ Querystring: Record<string, QueryValue | undefined> }>("/events", async (request, reply) => {
      const token = streamToken(request);
      let subject: EventSubject | undefined;
      if (token !== undefined) {
        subject = await deps.resolveToken(token);
      } else {
        const session = await sessionOfRequest(request, deps.sessions);
        if (!session) throw unauthorized("Authorization denied: send a token in the `token` header or `?token=`, or sign in");
        subject = { accountId: session.accountId, tokenId: session.sessionId };
      }
      if (!subject) throw unauthorized();
      const channels = parseChannels(request.query.channels ?? request.query.channel).map((channel) => {
        const [name, id] = channel.split(".");
        if (id !== undefined && PER_ANALYSIS.has(name!) && subject.analysisId !== undefined && id !== subject.analysisId) {
          throw new SluiceError("FORBIDDEN", `an analysis token may only join its own ${name} channel`, 403);
        }
        if (!PER_ANALYSIS.has(channel)) return channel;
        if (subject.analysisId === undefined) throw invalid(`the channel ${channel} needs an analysis token`);
        return `${channel}.${subject.analysisId}`;
      });

      let sequence = 0;
      let unsubscribe: () => void;
      try {
        unsubscribe = deps.hub.subscribe(subject.accountId, channels, (channel, payload) => {
          stream.send(++sequence, JSON.stringify({ channel: channel.split(".")[0], payload }));
        });
      } catch (err) {
        if (err instanceof TooManySubscribersError) throw new SluiceError(err.code, err.message, 429);
        throw err;
      }
      const stream = new SseStream(takeOver(reply), sseOptions);
      keep(stream);
      bindToToken(stream, subject.tokenId);
      stream.onClose(unsubscribe);
    });
  };
}

function parseChannels(value: QueryValue | undefined): string[] {
  const items = (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((item) => {
    if (typeof item !== "string") throw invalid("channels must be a comma-separated list");
    return item.split(",").map((c) => c.trim()).filter((c) => c !== "");
  });
  if (items.length === 0) throw invalid("channels is required, e.g. ?channels=notification");
  if (items.length > MAX_CHANNELS) throw invalid(`at most ${MAX_CHANNELS} channels per stream`);
  for (const c of items) if (!CHANNEL.test(c)) throw invalid(`"${c}" is not a channel name`);
  return items;
}
