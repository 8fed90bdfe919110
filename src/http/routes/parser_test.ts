import type { FastifyPluginAsync, FastifySchemaValidationError } from "fastify";
import { invalid } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import type { RecordInput } from "../../data/types.js";
import { httpParserInput, toParserInput } from "../../sandbox/parser_input.js";
import { parserInputJson } from "../../sandbox/nesting.js";
import { ParserError, type ParserDevice, type ParserSandbox } from "../../sandbox/types.js";
import type { ParserTestFailureJson, ParserTestResultJson } from "../api_types.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";
import { DATA_BODY_LIMIT } from "./data.js";
import { documentRoutes, TAGS } from "../openapi.js";

export interface ParserTestDeps {
  identity: IdentityService;
  sandbox: ParserSandbox;
  /** The device's configuration params as its parser sees them (none when not given). */
  paramsOf?(deviceId: string): Promise<ParserDevice["params"]>;
}

/** The way a sample came in: the MQTT broker (raw payload on a topic) or `POST /data` (a JSON body). */
export type ParserTestDoor = "mqtt" | "http";

interface ParserTestBody {
  script?: string;
  /** Default "mqtt", so requests written before there was a choice keep their meaning. */
  door?: ParserTestDoor;
  /** door "mqtt": the message as published. */
  payload?: string | Record<string, unknown> | unknown[];
  /** door "mqtt": the topic it was published on. */
  topic?: string;
  /** door "http": the `POST /data` body, any JSON value. */
  body?: unknown;
}

/** Topic a test message is taken to arrive on when the request names none. */
export const DEFAULT_TEST_TOPIC = "test";

/**
 * Each door has its own sample field, and the other door's fields are refused rather than
 * ignored: a `payload` sent with door "http" (or a `body` with "mqtt") is a mistake the caller
 * should hear about, not a sample silently dropped.
 */
const bodySchema = {
  type: "object",
  properties: {
    script: { type: "string" },
    door: { type: "string" },
    // anyOf rather than a type list: Ajv's strict mode warns about union types at every start.
    payload: { anyOf: [{ type: "string" }, { type: "object" }, { type: "array" }] },
    topic: { type: "string", minLength: 1 },
    // Whatever JSON POST /data would be sent: an array, an object, even a scalar or null.
    body: {},
  },
  // Ajv checks `allOf` before `properties`, and its members in order: the door itself first, so
  // that a wrong door is answered as such rather than as the default door's missing `payload`.
  allOf: [
    { properties: { door: { enum: ["mqtt", "http"] } } },
    {
      if: { properties: { door: { const: "http" } }, required: ["door"] },
      then: { required: ["body"], properties: { payload: false, topic: false } },
      else: { required: ["payload"], properties: { body: false } },
    },
  ],
} as const;

/** What a field of the other door is told instead of Ajv's "boolean schema is false". */
const OTHER_DOOR: Record<string, string> = {
  payload: 'is for door "mqtt"; door "http" takes its sample as `body`',
  topic: 'is for door "mqtt"; door "http" takes its sample as `body`',
  body: 'is for door "http"; door "mqtt" (the default) takes its sample as `payload`',
};

/** Fastify's own wording ("body/topic must NOT have fewer than 1 characters"), the doors' fields named. */
function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(
    errors
      .map((e) => {
        const field = e.instancePath.slice(1);
        const message = e.keyword === "false schema" && OTHER_DOOR[field] !== undefined ? OTHER_DOOR[field] : e.message;
        return `${dataVar}${e.instancePath} ${message}`;
      })
      .join(", "),
  );
}

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

/**
 * `POST /device/:id/parser/test` (account token): runs a parser on a sample message, in the same
 * sandbox and with the same globals as live traffic, and answers with what it would store.
 *
 * `script` defaults to the device's own parser. `door` says how the sample came in, and the
 * parser's input is built by the function that door itself uses:
 * - "mqtt" (default): `payload` is the message as published: a string is the raw MQTT payload;
 *   an object or array is sent as its JSON text. It goes through the normalization of a message
 *   published on `topic` (default "test", `toParserInput`), so a payload in the data format
 *   keeps its records and anything else arrives as one `payload` record.
 * - "http": `body` is a `POST /data` body, handed to the parser as the pipeline hands a real
 *   one (`httpParserInput`: an array as it is, anything else as a list of one). A body whose
 *   JSON is larger than POST /data accepts is refused (400).
 * A failing parser answers 400 with `result.kind` (compile, exception, timeout, memory,
 * invalid_output; invalid_input for a sample nested deeper than the sandbox takes, see
 * sandbox/nesting.ts) and the console lines written before it failed.
 */
export function parserTestRoutes(deps: ParserTestDeps): FastifyPluginAsync {
  const { identity, sandbox } = deps;
  return async (app) => {
    documentRoutes(app, { tag: TAGS.parsers.name });
    app.post<{ Params: { id: string }; Body: ParserTestBody }>(
      "/device/:id/parser/test",
      { schema: { params: idParams, body: bodySchema }, schemaErrorFormatter },
      async (request, reply) => {
        const device = await identity.getDevice(accountOf(request), request.params.id);
        const script = request.body.script ?? device.extra.parse_function;
        if (typeof script !== "string" || script.trim() === "") {
          throw invalid("The device has no payload parser: send the one to test as `script`");
        }
        const params = (await deps.paramsOf?.(device.id)) ?? [];
        try {
          const input = parserInput(request.body);
          const result = await sandbox.run(script, {
            payload: input,
            device: { id: device.id, name: device.name, params, tags: device.tags },
          });
          const answer: ParserTestResultJson = { payload: result.payload, logs: result.logs, duration_ms: Math.round(result.durationMs * 1000) / 1000 };
          return ok(answer);
        } catch (error) {
          if (!(error instanceof ParserError)) throw error;
          // Not the plain error envelope: the kind and the console lines are what make a failed
          // parser debuggable, so they travel in `result` beside the message.
          const result: ParserTestFailureJson = { kind: error.kind, logs: error.logs, ...(error.line === undefined ? {} : { line: error.line }) };
          return reply.code(400).send({ status: false, message: error.message, result });
        }
      },
    );
  };
}

/** The records the parser gets for the sample, through the door the request names. */
function parserInput(request: ParserTestBody): RecordInput[] {
  if (request.door === "http") {
    // Measured as JSON.stringify writes it: the sample's own text is not at hand any more (a
    // sample nested too deeply for that is refused as the sandbox refuses it: invalid_input).
    const bytes = Buffer.byteLength(parserInputJson(request.body), "utf8");
    if (bytes > DATA_BODY_LIMIT) throw invalid(`body is ${bytes} bytes as JSON: POST /data accepts at most ${DATA_BODY_LIMIT}`);
    return httpParserInput(request.body);
  }
  const { payload, topic = DEFAULT_TEST_TOPIC } = request;
  // The schema makes `payload` present for this door.
  const message = Buffer.from(typeof payload === "string" ? payload : parserInputJson(payload), "utf8");
  return toParserInput(topic, message);
}
