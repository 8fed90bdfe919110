import { oneOf, record, text } from "../display_read.js";

export const FITS = ["contain", "cover"] as const;

export interface ImageOptions {
  url: string;
  /** What the image shows, for those who cannot see it: required. */
  alt: string;
  fit: (typeof FITS)[number];
}

export function defaults(): ImageOptions {
  return { url: "", alt: "", fit: "contain" };
}

export function parse(display: unknown): ImageOptions {
  const d = record(display);
  return { url: text(d.url, "", 2048), alt: text(d.alt, "", 500), fit: oneOf(d.fit, FITS, "contain") };
}

/** The URL the image may load from: http(s) only (no `javascript:`, no `data:` of any type), or why not. */
export function imageUrl(url: string): { href: string } | { error: string } {
  if (url.trim() === "") return { error: "No image address yet: edit the widget." };
  try {
    const parsed = new URL(url, window.location.href);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return { error: "The image address must start with https:// or http://" };
    return { href: parsed.href };
  } catch {
    return { error: "The image address is not a URL" };
  }
}
