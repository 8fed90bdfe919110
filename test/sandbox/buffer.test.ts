import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { IsolateParserSandbox } from "../../src/sandbox/isolate_parser_sandbox.js";

// The parser's Buffer is the `buffer` npm package evaluated in the isolate (a bare isolate has
// none): each case runs the same expression in the sandbox and on Node's own Buffer, and the
// results must match, except where the package is documented to differ (docs/parsers.md).

const sandbox = new IsolateParserSandbox();
after(() => sandbox.close());

async function inSandbox(expressions: string[]): Promise<unknown[]> {
  const script = `payload = [${expressions.map((e) => `(() => { try { const v = ${e}; return { variable: "v", value: typeof v === "bigint" ? v.toString() + "n" : v }; } catch (err) { return { variable: "v", value: "throws " + err.name }; } })()`).join(",")}];`;
  const result = await sandbox.run(script, { payload: [], device: { id: "buffer-tests", name: "b", params: [], tags: [] } });
  return (result.payload as { value: unknown }[]).map((r) => r.value);
}

function onHost(expressions: string[]): unknown[] {
  return expressions.map((e) => {
    try {
      // The expressions are this file's own constants; Function compiles them against Node's Buffer.
      const value: unknown = new Function("Buffer", "atob", "btoa", `return ${e};`)(Buffer, atob, btoa);
      return JSON.parse(JSON.stringify(typeof value === "bigint" ? `${value}n` : value)) as unknown;
    } catch (err) {
      return `throws ${(err as Error).name}`;
    }
  });
}

async function sameAsNode(expressions: string[]): Promise<void> {
  const got = await inSandbox(expressions);
  const want = onHost(expressions);
  expressions.forEach((expression, i) => assert.deepEqual(got[i], want[i], expression));
}

describe("Buffer in the sandbox behaves like Node's", () => {
  test("hex", () =>
    sameAsNode([
      `Buffer.from("0a2BfF", "hex").toJSON()`,
      `Buffer.from("0a2", "hex").length`,
      `Buffer.from("0azz11", "hex").toString("hex")`,
      `Buffer.from([0, 15, 16, 255]).toString("hex")`,
      `Buffer.from("", "hex").length`,
    ]));

  test("base64 and base64url", () =>
    sameAsNode([
      `Buffer.from("aGVsbG8gd29ybGQ=", "base64").toString()`,
      `Buffer.from("aGVsbG8gd29ybGQ", "base64").toString()`,
      `Buffer.from("aGVs bG8=\\n", "base64").toString()`,
      // URL-safe input decodes under "base64", as in Node.
      `Buffer.from("-_8", "base64").toJSON()`,
      `Buffer.from([251, 255, 191]).toString("base64")`,
      `Buffer.from("hi").toString("base64")`,
    ]));

  // The parsers' Buffer is the `buffer` npm package (6.0.3), which has no "base64url" encoding
  // name (feross/buffer#309); docs/parsers.md says so. A parser that asks for it gets an error.
  test("the base64url encoding name is refused with a TypeError", async () => {
    assert.deepEqual(await inSandbox([`Buffer.from("-_8", "base64url")`]), ["throws TypeError"]);
  });

  test("utf8, including malformed sequences", () =>
    sameAsNode([
      `Buffer.from("olá ☀ 😀").toJSON()`,
      `Buffer.from("olá ☀ 😀").toString()`,
      `Buffer.from([0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xf4, 0x90, 0x80, 0x80]).toString()`,
      `Buffer.from("\\ud800x").toJSON()`,
      `Buffer.byteLength("olá ☀")`,
      `Buffer.from("abcdef").toString("utf8", 1, 3)`,
    ]));

  test("latin1, ascii, utf16le", () =>
    sameAsNode([
      `Buffer.from("é\\u00ff", "latin1").toJSON()`,
      `Buffer.from([0xe9, 0x41]).toString("latin1")`,
      `Buffer.from([0xe9, 0x41]).toString("ascii")`,
      `Buffer.from("hé", "utf16le").toJSON()`,
      `Buffer.from([0x68, 0, 0xe9, 0]).toString("ucs2")`,
      `Buffer.from("x", "binary").toJSON()`,
    ]));

  test("integer reads", () =>
    sameAsNode([
      `Buffer.from("fc18", "hex").readInt16BE(0)`,
      `Buffer.from("18fc", "hex").readInt16LE()`,
      `Buffer.from("fc18", "hex").readUInt16BE(0)`,
      `Buffer.from("fc18", "hex").readUint16LE(0)`,
      `Buffer.from("80", "hex").readInt8(0)`,
      `Buffer.from("ffffffff", "hex").readUInt32BE(0)`,
      `Buffer.from("ffffff7f", "hex").readInt32LE(0)`,
      `Buffer.from("80000000", "hex").readInt32BE(0)`,
      `Buffer.from("010203040506", "hex").readUIntBE(0, 6)`,
      `Buffer.from("010203040506", "hex").readUIntLE(1, 3)`,
      `Buffer.from("fffffe", "hex").readIntBE(0, 3)`,
      `Buffer.from("feffff", "hex").readIntLE(0, 3)`,
      `Buffer.from("ffffffffffffffff", "hex").readBigUInt64BE(0)`,
      `Buffer.from("feffffffffffffff", "hex").readBigInt64LE(0)`,
    ]));

  test("float reads", () =>
    sameAsNode([
      `Buffer.from("41c80000", "hex").readFloatBE(0)`,
      `Buffer.from("0000c841", "hex").readFloatLE(0)`,
      `Buffer.from("400921fb54442d18", "hex").readDoubleBE(0)`,
      `Buffer.from("182d4454fb210940", "hex").readDoubleLE(0)`,
    ]));

  test("out-of-range reads throw RangeError", () =>
    sameAsNode([`Buffer.from("00", "hex").readUInt16BE(0)`, `Buffer.from("0000", "hex").readInt8(2)`, `Buffer.from("0000", "hex").readInt8(-1)`, `Buffer.alloc(4).readUIntBE(0, 7)`]));

  test("writes", () =>
    sameAsNode([
      `(() => { const b = Buffer.alloc(4); b.writeInt16BE(-2, 0); b.writeUInt16LE(513, 2); return b.toJSON(); })()`,
      `(() => { const b = Buffer.alloc(8); b.writeUInt32BE(0xdeadbeef, 0); b.writeInt32LE(-1, 4); return b.toString("hex"); })()`,
      `(() => { const b = Buffer.alloc(4); return [b.writeFloatLE(1.5, 0), b.toString("hex")]; })()`,
      `(() => { const b = Buffer.alloc(8); b.writeDoubleBE(Math.PI); return b.toString("hex"); })()`,
      `(() => { const b = Buffer.alloc(2); b.writeUInt8(255, 0); b.writeInt8(-1, 1); return b.toJSON(); })()`,
    ]));

  test("building and comparing", () =>
    sameAsNode([
      `Buffer.concat([Buffer.from("ab"), Buffer.from("cd")]).toString()`,
      `Buffer.concat([Buffer.from("ab"), Buffer.from("cd")], 3).toString()`,
      `Buffer.alloc(3, 7).toJSON()`,
      `Buffer.alloc(5, "ab").toString()`,
      `Buffer.from("abc").equals(Buffer.from("abc"))`,
      `Buffer.compare(Buffer.from("a"), Buffer.from("b"))`,
      `Buffer.isBuffer(new Uint8Array(2))`,
      `Buffer.isEncoding("hex")`,
      `Buffer.from(Buffer.from("xy")).toString()`,
      `Buffer.from(new Uint8Array([1, 2]).buffer).toJSON()`,
      `Buffer.from({ type: "Buffer", data: [1, 2] }).toJSON()`,
      `(() => { const b = Buffer.from("abcd"); const s = b.slice(1, 3); s[0] = 0x7a; return b.toString(); })()`,
      `(() => { const t = Buffer.alloc(4); Buffer.from("xy").copy(t, 1); return t.toJSON(); })()`,
      `Buffer.from("abc").subarray(1).toString()`,
      `Buffer.from("x", "nope")`,
    ]));

  test("atob and btoa", () => sameAsNode([`atob("aGk=")`, `btoa("hi")`, `btoa("é")`, `btoa("☀")`]));
});
