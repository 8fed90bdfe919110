import { micromark } from "micromark";
import { useEffect, useMemo } from "preact/hooks";
import type { RendererProps } from "../types.js";
import type { NoteOptions } from "./options.js";
import "../../styles/widget_media.css";

/**
 * The note's markdown as HTML. micromark's defaults are the safety here and are kept on
 * purpose: raw HTML in the markdown is escaped to text (`allowDangerousHtml` off), and link or
 * image addresses of other protocols than http(s), mailto, irc(s) and xmpp are emptied
 * (`allowDangerousProtocol` off), so `javascript:` never reaches an `href`. What micromark
 * emptied is then tidied in an inert document (DOMParser runs nothing): a link left with
 * `href=""` would reload the console, so it becomes plain text, and an image without a
 * source becomes its alt text; other links open in a new tab, without a referrer.
 */
export function renderNote(markdown: string): string {
  const doc = new DOMParser().parseFromString(micromark(markdown), "text/html");
  for (const a of doc.querySelectorAll("a")) {
    if ((a.getAttribute("href") ?? "") === "") {
      a.replaceWith(...a.childNodes);
    } else if (!a.getAttribute("href")!.startsWith("#")) {
      a.setAttribute("target", "_blank");
      a.setAttribute("rel", "noopener noreferrer");
    }
  }
  for (const img of doc.querySelectorAll("img")) {
    if ((img.getAttribute("src") ?? "") === "") img.replaceWith(doc.createTextNode(img.getAttribute("alt") ?? ""));
    else img.setAttribute("referrerpolicy", "no-referrer");
  }
  return doc.body.innerHTML;
}

export function NoteRenderer({ widget, options, ctx }: RendererProps<NoteOptions>) {
  const html = useMemo(() => renderNote(options.markdown), [options.markdown]);
  useEffect(() => ctx.ready(widget.id), [ctx, widget.id]);
  if (options.markdown.trim() === "") return <p class="muted widget-empty">An empty note: edit the widget to write in it.</p>;
  // Safe to set: renderNote's output holds no markup the markdown's author wrote (see above).
  return <div class="widget-note" dangerouslySetInnerHTML={{ __html: html }} />;
}
