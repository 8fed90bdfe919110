import type { WidgetType } from "../types.js";
import { ImageEditor } from "./editor.js";
import { defaults, parse, type ImageOptions } from "./options.js";
import { ImageRenderer } from "./renderer.js";

const image: WidgetType<ImageOptions> = {
  type: "image",
  order: 120,
  label: "Image",
  description: "A picture from an address, with its description",
  sources: "none",
  size: { width: 4, height: 4 },
  defaults,
  parse,
  Editor: ImageEditor,
  Renderer: ImageRenderer,
};
export default image;
