import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../../errors.js";
import type { IdentityService } from "../../identity/service.js";
import { toParserInput } from "../../sandbox/parser_input.js";
import { ParserError, type ParserDevice, type ParserSandbox } from "../../sandbox/types.js";
import type { ParserTestFailureJson, ParserTestResultJson } from "../api_types.js";
import { accountOf } from "../auth.js";
import { ok } from "../envelope.js";

export interface ParserTestDeps {
  identity: IdentityService;
  sandbox: ParserSandbox;
  /** The device's configuration params as its parser sees them (none when not given). */
  paramsOf?(deviceId: string): Promise<ParserDevice["params"]>;
}

interface ParserTestBody {
  script?: string;
  payload: string | Record<string, unknown> | unknown[];
  topic?: string;
}

/** Topic a test message is taken to arrive on when the request names none. */
export const DEFAULT_TEST_TOPIC = "test";

const bodySchema = {
  type: "object",
  required: ["payload"],
  properties: {
    script: { type: "string" },
    // anyOf rather than a type list: Ajv's strict mode warns about union types at every start.
    payload: { anyOf: [{ type: "string" }, { type: "object" }, { type: "array" }] },
    topic: { type: "string", minLength: 1 },
  },
} as const;

const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1 } } } as const;

/**
 * `POST /device/:id/parser/test` (account token): runs a parser on a sample message, in the same
 * sandbox and with the same globals as live traffic, and answers with what it would store.
 *
 * `script` defaults to the device's own parser. `payload` is the message as published: a string
 * is the raw MQTT payload; an object or array is sent as its JSON text. Either way it goes
 * through the same normalization as a message published on `topic` (default "test"), so a
 * payload in the data format keeps its records and anything else arrives as one `payload`
 * record. A failing parser answers 400 with `result.kind` (compile, exception, timeout,
 * memory, invalid_output) and the console lines written before it failed.
 */
export function parserTestRoutes(deps: ParserTestDeps): FastifyPluginAsync {
  const { identity, sandbox } = deps;
  return async (app) => {
    app.post<{ Params: { id: string }; Body: ParserTestBody }>(
      "/device/:id/parser/test",
      { schema: { params: idParams, body: bodySchema } },
      async (request, reply) => {
        const device = await identity.getDevice(accountOf(request), request.params.id);
        const script = request.body.script ?? device.extra.parse_function;
        if (typeof script !== "string" || script.trim() === "") {
          throw invalid("The device has no payload parser: send the one to test as `script`");
        }
        const { payload, topic = DEFAULT_TEST_TOPIC } = request.body;
        const message = Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload), "utf8");
        const params = (await deps.paramsOf?.(device.id)) ?? [];
        try {
          const result = await sandbox.run(script, {
            payload: toParserInput(topic, message),
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
