import "../../styles/widget_parts.css";
import { HintedField } from "../hinted_field.js";
import type { EditorProps } from "../types.js";
import { MAX_POINTS, OSM_ATTRIBUTION, OSM_TILES, tileTemplate, type MapOptions } from "./options.js";

export function MapEditor({ options: o, onChange }: EditorProps<MapOptions>) {
  const tiles = tileTemplate(o.tile_url);
  return (
    <>
      <HintedField label="Tile address" error={"error" in tiles ? tiles.error : undefined} hint="Points and tracks show even when tiles cannot load (offline).">
        {(ids) => <input {...ids} value={o.tile_url} maxLength={2048} placeholder={OSM_TILES} onInput={(e) => onChange({ ...o, tile_url: e.currentTarget.value })} />}
      </HintedField>
      <HintedField label="Attribution" hint="The credit the tile provider asks for, shown in the map's corner.">
        {(ids) => <input {...ids} value={o.attribution} maxLength={300} placeholder={OSM_ATTRIBUTION} onInput={(e) => onChange({ ...o, attribution: e.currentTarget.value })} />}
      </HintedField>
      <label>
        Points per source
        <input
          type="number"
          min={1}
          max={MAX_POINTS}
          value={o.points}
          onInput={(e) => {
            const n = e.currentTarget.valueAsNumber;
            if (Number.isInteger(n) && n >= 1 && n <= MAX_POINTS) onChange({ ...o, points: n });
          }}
        />
      </label>
      <label class="inline">
        <input type="checkbox" checked={o.track} onChange={(e) => onChange({ ...o, track: e.currentTarget.checked })} />
        Draw each device's track
      </label>
    </>
  );
}
