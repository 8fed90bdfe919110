import { record, text } from "../display_read.js";

export interface NoteOptions {
  /** Markdown (CommonMark): no raw HTML, no script links (micromark's safe defaults). */
  markdown: string;
}

export const MAX_NOTE_CHARS = 20_000;

export function defaults(): NoteOptions {
  return { markdown: "## Note\n\nWrite **markdown** here." };
}

export function parse(display: unknown): NoteOptions {
  return { markdown: text(record(display).markdown, "", MAX_NOTE_CHARS) };
}
