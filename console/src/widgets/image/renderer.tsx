import { useEffect, useState } from "preact/hooks";
import type { RendererProps } from "../types.js";
import { imageUrl, type ImageOptions } from "./options.js";
import "../../styles/widget_media.css";

export function ImageRenderer({ widget, options, ctx }: RendererProps<ImageOptions>) {
  const url = imageUrl(options.url);
  const [failed, setFailed] = useState(false);
  useEffect(() => setFailed(false), [options.url]);
  // An image has no data to wait for: a report may print it as it is.
  useEffect(() => ctx.ready(widget.id), [ctx, widget.id]);
  if ("error" in url) return <p class="muted widget-empty">{url.error}</p>;
  if (options.alt.trim() === "") return <p class="muted widget-empty">This image has no description yet: edit the widget and describe it.</p>;
  return (
    <div class="widget-image">
      {failed ? (
        <p class="muted widget-empty" role="img" aria-label={options.alt}>
          The image could not be loaded ({options.alt}).
        </p>
      ) : (
        <img src={url.href} alt={options.alt} style={{ objectFit: options.fit }} referrerpolicy="no-referrer" onError={() => setFailed(true)} />
      )}
    </div>
  );
}
