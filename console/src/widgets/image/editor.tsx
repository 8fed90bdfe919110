import "../../styles/widget_parts.css";
import { HintedField } from "../hinted_field.js";
import type { EditorProps } from "../types.js";
import { FITS, imageUrl, type ImageOptions } from "./options.js";

export function ImageEditor({ options: o, onChange }: EditorProps<ImageOptions>) {
  const url = imageUrl(o.url);
  return (
    <>
      <HintedField label="Image address" error={o.url !== "" && "error" in url ? url.error : undefined}>
        {(ids) => <input {...ids} type="url" value={o.url} maxLength={2048} required placeholder="https://…" onInput={(e) => onChange({ ...o, url: e.currentTarget.value })} />}
      </HintedField>
      <HintedField label="Description (alt text)" hint="Required: what the image shows, read to people who cannot see it.">
        {(ids) => <input {...ids} value={o.alt} maxLength={500} required onInput={(e) => onChange({ ...o, alt: e.currentTarget.value })} />}
      </HintedField>
      <fieldset class="widget-fieldset">
        <legend>Fit</legend>
        {FITS.map((f) => (
          <label key={f} class="inline">
            <input type="radio" name="image-fit" checked={o.fit === f} onChange={() => onChange({ ...o, fit: f })} />
            {f === "contain" ? "Contain: the whole image, with margins" : "Cover: fill the widget, cropping the image"}
          </label>
        ))}
      </fieldset>
    </>
  );
}
