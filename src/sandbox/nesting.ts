import { ParserError } from "./types.js";

/**
 * How deep a parser's input and output may nest (arrays and objects, the outer list included).
 * JSON.parse nests as deep as its input, but JSON.stringify recurses: the host serializes a
 * parser's input, and Fastify serializes `POST /device/:id/parser/test`'s answer, on the event
 * loop's stack, which ran out at about 5 000 levels (a 10 kB body), and the request ended in a
 * 500 (an MQTT message in 0x83). Records are shallow; 100 levels leave room for any
 * metadata, and are far from any stack's end.
 */
export const MAX_NESTING = 100;

/**
 * Whether the JSON `text` nests arrays and objects deeper than `max`: one pass over its
 * characters, brackets inside strings not counted. `text` is JSON.stringify's output.
 */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * A parser's input as JSON, refused (`invalid_input`: the parser is not run) when it nests
 * deeper than MAX_NESTING, whether JSON.stringify ran out of stack on it or not.
 */
export function parserInputJson(payload: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  if (json === undefined || jsonNestedDeeperThan(json, MAX_NESTING)) {
    throw new ParserError("invalid_input", `the message nests arrays and objects deeper than ${MAX_NESTING} levels; the parser was not run`);
  }
  return json;
}
