import type { WidgetType } from "../types.js";
import { MapEditor } from "./editor.js";
import { defaults, parse, type MapOptions } from "./options.js";
import { MapRenderer } from "./renderer.js";

const map: WidgetType<MapOptions> = {
  type: "map",
  order: 110,
  label: "Map",
  description: "Where devices are: markers and tracks from records' locations",
  sources: "many",
  size: { width: 6, height: 5 },
  defaults,
  parse,
  Editor: MapEditor,
  Renderer: MapRenderer,
};
export default map;
