/**
 * The PDF service's request, as `@tago-io/sdk`'s `Services.PDF.generate` sends it
 * (`{ html | base64 | url, fileName?, options? }`, options in Chrome's print vocabulary), checked
 * and turned into a job. Errors name the field (400).
 */
import { invalid } from "../errors.js";

/** What a job renders. `site` is Sluice's own (a dashboard's share page), never a client's. */
export type PdfSource =
  | { kind: "html"; html: string }
  | { kind: "url"; url: URL }
  | { kind: "site"; url: string; origin: string };

/** Chrome's print options, as the SDK names them (playwright's `page.pdf` takes the same). */
export interface PrintOptions {
  displayHeaderFooter?: boolean;
  headerTemplate?: string;
  footerTemplate?: string;
  format?: string;
  width?: string;
  height?: string;
  landscape?: boolean;
  margin?: { top?: string; right?: string; bottom?: string; left?: string };
  pageRanges?: string;
  preferCSSPageSize?: boolean;
  printBackground?: boolean;
  scale?: number;
}

export interface PdfJob {
  source: PdfSource;
  options: PrintOptions;
}

/** Chrome's paper formats; matched without regard to case, answered as Chrome spells them. */
const FORMATS = ["Letter", "Legal", "Tabloid", "Ledger", "A0", "A1", "A2", "A3", "A4", "A5", "A6"];
const MAX_URL = 2048;
/** A header or footer template: a line of HTML with `pageNumber`/`totalPages` spans, not a document. */
const MAX_TEMPLATE = 64 * 1024;
const MAX_PAGE_RANGES = 200;
/** Paper no larger than 100 inches a side, margins no larger than 50: beyond them Chrome's print pipeline only burns memory. */
const MAX_PAPER_INCHES = 100;
const MAX_MARGIN_INCHES = 50;
const INCHES_PER_UNIT: Record<string, number> = { px: 1 / 96, in: 1, cm: 1 / 2.54, mm: 1 / 25.4 };

/**
 * Checks a request body. Exactly one of `html`, `base64` (HTML in base64) and `url` (http or
 * https) is the document; HTML beyond `maxInputBytes` is refused here, a `url`'s answer while it
 * is read. `fileName` is accepted and not used: the answer is always the PDF in base64.
 * Option keys the SDK does not send (puppeteer's `path`, `timeout`...) are ignored.
 */
export function parsePdfRequest(body: unknown, maxInputBytes: number): PdfJob {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("the body must be an object: { html | base64 | url, fileName?, options? }");
  const b = body as Record<string, unknown>;
  const given = (["html", "base64", "url"] as const).filter((key) => b[key] !== undefined && b[key] !== null && b[key] !== "");
  if (given.length === 0) throw invalid("one of html, base64 or url is required");
  if (given.length > 1) throw invalid(`give one of html, base64 or url, not ${given.join(" and ")}`);
  if (b.fileName !== undefined && b.fileName !== null && typeof b.fileName !== "string") throw invalid("fileName must be a string");
  const options = parsePrintOptions(b.options);
  const key = given[0]!;
  if (key === "html") {
    if (typeof b.html !== "string") throw invalid("html must be a string");
    if (Buffer.byteLength(b.html) > maxInputBytes) throw tooLarge("html", maxInputBytes);
    return { source: { kind: "html", html: b.html }, options };
  }
  if (key === "base64") {
    if (typeof b.base64 !== "string" || !/^[A-Za-z0-9+/_\-=\s]*$/.test(b.base64)) throw invalid("base64 must be HTML encoded in base64");
    // Decoded size, from the length, before decoding anything.
    if (Math.floor((b.base64.replace(/\s/g, "").length * 3) / 4) > maxInputBytes + 2) throw tooLarge("base64", maxInputBytes);
    const html = Buffer.from(b.base64, "base64").toString("utf8");
    if (Buffer.byteLength(html) > maxInputBytes) throw tooLarge("base64", maxInputBytes);
    return { source: { kind: "html", html }, options };
  }
  return { source: { kind: "url", url: parseUrl(b.url) }, options };
}

function tooLarge(field: string, max: number) {
  return invalid(`${field} holds more than ${max} bytes of HTML (pdf.maxInputBytes)`);
}

function parseUrl(value: unknown): URL {
  if (typeof value !== "string") throw invalid("url must be a string");
  if (value.length > MAX_URL) throw invalid(`url is longer than ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("url is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("url must be http or https");
  return url;
}

/** The SDK's `options`, checked field by field; undefined or null is no options. */
export function parsePrintOptions(value: unknown, field = "options"): PrintOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`${field} must be an object`);
  const o = value as Record<string, unknown>;
  const out: PrintOptions = {};
  for (const key of ["displayHeaderFooter", "landscape", "preferCSSPageSize", "printBackground"] as const) {
    if (o[key] === undefined || o[key] === null) continue;
    if (typeof o[key] !== "boolean") throw invalid(`${field}.${key} must be true or false`);
    out[key] = o[key];
  }
  for (const key of ["headerTemplate", "footerTemplate"] as const) {
    if (o[key] === undefined || o[key] === null) continue;
    if (typeof o[key] !== "string") throw invalid(`${field}.${key} must be a string of HTML`);
    if (o[key].length > MAX_TEMPLATE) throw invalid(`${field}.${key} is longer than ${MAX_TEMPLATE} characters`);
    out[key] = o[key];
  }
  if (o.format !== undefined && o.format !== null) {
    const format = typeof o.format === "string" ? FORMATS.find((f) => f.toLowerCase() === (o.format as string).toLowerCase()) : undefined;
    if (format === undefined) throw invalid(`${field}.format must be one of ${FORMATS.join(", ")}`);
    out.format = format;
  }
  for (const key of ["width", "height"] as const) {
    if (o[key] === undefined || o[key] === null) continue;
    out[key] = size(o[key], `${field}.${key}`, MAX_PAPER_INCHES, false);
  }
  if (o.margin !== undefined && o.margin !== null) {
    if (typeof o.margin !== "object" || Array.isArray(o.margin)) throw invalid(`${field}.margin must be an object: { top, right, bottom, left }`);
    const m = o.margin as Record<string, unknown>;
    const margin: NonNullable<PrintOptions["margin"]> = {};
    for (const side of ["top", "right", "bottom", "left"] as const) {
      if (m[side] === undefined || m[side] === null) continue;
      margin[side] = size(m[side], `${field}.margin.${side}`, MAX_MARGIN_INCHES, true);
    }
    out.margin = margin;
  }
  if (o.pageRanges !== undefined && o.pageRanges !== null && o.pageRanges !== "") {
    if (typeof o.pageRanges !== "string" || o.pageRanges.length > MAX_PAGE_RANGES || !/^\s*\d+(\s*-\s*\d*)?(\s*,\s*\d+(\s*-\s*\d*)?)*\s*$/.test(o.pageRanges)) {
      throw invalid(`${field}.pageRanges must look like "1-5, 8, 11-13"`);
    }
    out.pageRanges = o.pageRanges;
  }
  if (o.scale !== undefined && o.scale !== null) {
    if (typeof o.scale !== "number" || !Number.isFinite(o.scale) || o.scale < 0.1 || o.scale > 2) throw invalid(`${field}.scale must be a number from 0.1 to 2`);
    out.scale = o.scale;
  }
  return out;
}

/** A length as Chrome takes it: a number (CSS pixels) or a number with px, in, cm or mm. */
function size(value: unknown, field: string, maxInches: number, zeroAllowed: boolean): string {
  let amount: number;
  let unit = "px";
  if (typeof value === "number") {
    amount = value;
  } else if (typeof value === "string") {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(px|in|cm|mm)?\s*$/i.exec(value);
    if (!match) throw invalid(`${field} must be a number of pixels, or a number with px, in, cm or mm ("2cm")`);
    amount = Number(match[1]);
    unit = (match[2] ?? "px").toLowerCase();
  } else {
    throw invalid(`${field} must be a number or a string such as "2cm"`);
  }
  if (!Number.isFinite(amount) || amount < 0 || (!zeroAllowed && amount === 0)) throw invalid(`${field} must be ${zeroAllowed ? "0 or more" : "more than 0"}`);
  if (amount * INCHES_PER_UNIT[unit]! > maxInches) throw invalid(`${field} is larger than ${maxInches} inches`);
  return `${amount}${unit}`;
}
