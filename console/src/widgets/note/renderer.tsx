import { micromark } from "micromark";
import { useEffect, useMemo } from "preact/hooks";
import type { RendererProps } from "../types.js";
import type { NoteOptions } from "./options.js";
import "../../styles/widget_media.css";

/**
 * The note's markdown as HTML. micromark's defaults are the safety here and are kept on
 * purpose: raw HTML in the markdown is escaped to text (`allowDangerousHtml` off), and link or
 * image addresses of other protocols than http(s), mailto, irc(s) and xmpp are dropped
 * (`allowDangerousProtocol` off), so `javascript:` never reaches an `href`.
 */
export function renderNote(markdown: string): string {
  return micromark(markdown);
}

export function NoteRenderer({ widget, options, ctx }: RendererProps<NoteOptions>) {
  const html = useMemo(() => renderNote(options.markdown), [options.markdown]);
  useEffect(() => ctx.ready(widget.id), [ctx, widget.id]);
  if (options.markdown.trim() === "") return <p class="muted widget-empty">An empty note: edit the widget to write in it.</p>;
  // Safe to set: renderNote's output holds no markup the markdown's author wrote (see above).
  return <div class="widget-note" dangerouslySetInnerHTML={{ __html: html }} />;
}
