import { finite, flag, record, text } from "../display_read.js";

export const OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
export const OSM_ATTRIBUTION = "© OpenStreetMap contributors";
export const MAX_POINTS = 1000;

export interface MapOptions {
  /** A tile URL template with {z}, {x} and {y} (and optionally {s}). */
  tile_url: string;
  /** Shown in the map's corner as text (the tile provider's required credit). */
  attribution: string;
  /** Records with a location read per data source: the track's length. */
  points: number;
  /** A line through each device's points, oldest to newest. */
  track: boolean;
}

export function defaults(): MapOptions {
  return { tile_url: OSM_TILES, attribution: OSM_ATTRIBUTION, points: 100, track: true };
}

export function parse(display: unknown): MapOptions {
  const d = record(display);
  return {
    tile_url: text(d.tile_url, OSM_TILES, 2048),
    attribution: text(d.attribution, OSM_ATTRIBUTION, 300),
    points: Math.min(MAX_POINTS, Math.max(1, Math.round(finite(d.points, 100)))),
    track: flag(d.track, true),
  };
}

/** A tile template the map may load: http(s), with {z}, {x} and {y}; or why not. */
export function tileTemplate(url: string): { template: string } | { error: string } {
  if (!/^https?:\/\//i.test(url)) return { error: "The tile address must start with https:// or http://" };
  if (!["{z}", "{x}", "{y}"].every((p) => url.includes(p))) return { error: "The tile address needs {z}, {x} and {y}" };
  return { template: url };
}
