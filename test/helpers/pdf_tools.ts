/**
 * Reading PDFs back as a person would: poppler-utils (`pdfinfo`, `pdftotext`, `pdftoppm`,
 * installed by `.ci/run`), and the attachments of a mail as the SMTP sink received it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PdfFacts {
  pages: number;
  title: string;
  /** The text, laid out (`pdftotext -layout`). */
  text: string;
  /** One PNG per page (`pdftoppm -png`), at 60 dpi. */
  pngs: Buffer[];
}

export function readPdf(pdf: Buffer, options: { dpi?: number } = {}): PdfFacts {
  const dir = mkdtempSync(join(tmpdir(), "sluice-pdf-test-"));
  try {
    const file = join(dir, "doc.pdf");
    writeFileSync(file, pdf);
    const info = execFileSync("pdfinfo", [file], { encoding: "utf8" });
    const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
    execFileSync("pdftoppm", ["-png", "-r", String(options.dpi ?? 60), file, join(dir, "page")]);
    const pngs = readdirSync(dir).filter((n) => n.startsWith("page") && n.endsWith(".png")).sort().map((n) => readFileSync(join(dir, n)));
    return { pages: Number(/^Pages:\s+(\d+)/m.exec(info)?.[1] ?? 0), title: /^Title:\s+(.*)$/m.exec(info)?.[1]?.trim() ?? "", text, pngs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first page as a PNG at `dpi` (for pictures in docs/). */
export function firstPagePng(pdf: Buffer, dpi: number): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "sluice-pdf-test-"));
  try {
    const file = join(dir, "doc.pdf");
    writeFileSync(file, pdf);
    execFileSync("pdftoppm", ["-png", "-r", String(dpi), "-f", "1", "-l", "1", "-singlefile", file, join(dir, "page")]);
    return readFileSync(join(dir, "page.png"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MailPart {
  headers: Record<string, string>;
  filename: string | undefined;
  contentType: string;
  content: Buffer;
}

/** Every leaf part of a MIME message (multipart nested or not), decoded. */
export function mimeParts(raw: string): MailPart[] {
  const split = raw.indexOf("\r\n\r\n");
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split + 4);
  const type = headers["content-type"] ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const pieces = body.split(`--${boundary}`).slice(1);
    return pieces.filter((p) => !p.startsWith("--")).flatMap((p) => mimeParts(p.replace(/^\r\n/, "")));
  }
  const encoding = (headers["content-transfer-encoding"] ?? "").toLowerCase();
  const content =
    encoding === "base64" ? Buffer.from(body.replace(/\s+/g, ""), "base64")
    : encoding === "quoted-printable" ? quotedPrintable(body)
    : Buffer.from(body, "utf8");
  const disposition = headers["content-disposition"] ?? "";
  const filename = /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? /name="?([^";]+)"?/i.exec(type)?.[1];
  return [{ headers, filename, contentType: type.split(";")[0]!.trim(), content }];
}

function quotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  const soft = text.replace(/=\r\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === "=" && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes);
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A header as written, RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) decoded. */
export function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) => {
      if (encoding.toUpperCase() === "B") return Buffer.from(text, "base64").toString("utf8");
      const bytes = text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
      return decodeURIComponent(bytes);
    });
}
