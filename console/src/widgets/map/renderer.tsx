/**
 * Markers and tracks on a Leaflet map. Leaflet is loaded here, on first render of a map
 * (`import()`), so dashboards without one never download it. Points and tracks are vector
 * layers (SVG), drawn whether or not tiles load: a device offline from the Internet, or a tile
 * server refused, still shows where things are, with a note saying the background is missing.
 */
import type * as Leaflet from "leaflet";
import { useEffect, useRef, useState } from "preact/hooks";
import type { RendererProps } from "../types.js";
import { useWidgetData } from "../use_widget_data.js";
import { tileTemplate, type MapOptions } from "./options.js";
import { addRecords, readTracks, type Tracks } from "./tracks.js";
import "../../styles/widget_map.css";

type L = typeof Leaflet;

/** Leaflet puts attributions in as HTML: the widget's text is escaped first. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A marker's tooltip as an element holding text: Leaflet sets a string tooltip as HTML, and a
 * record's value and variable are whatever the device wrote.
 */
function tooltipOf(text: string): HTMLElement {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

/** Colours of the theme for the devices, in turn. */
function palette(el: HTMLElement): string[] {
  const css = getComputedStyle(el);
  const accent = css.getPropertyValue("--accent").trim() || "#1d4ed8";
  return [accent, css.getPropertyValue("--bad").trim() || "#b91c1c", css.getPropertyValue("--ok").trim() || "#15803d", css.getPropertyValue("--warn").trim() || "#a16207"];
}

export function MapRenderer({ widget, options, ctx, width, height }: RendererProps<MapOptions>) {
  const { data, error } = useWidgetData<Tracks>(ctx, widget, {
    query: { qty: options.points },
    read: (results) => readTracks(results, options.points),
    merge: (current, records) => addRecords(current, records, options.points),
  });
  const box = useRef<HTMLDivElement>(null);
  const [leaflet, setLeaflet] = useState<{ L: L; map: Leaflet.Map; layers: Leaflet.LayerGroup } | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [tilesFailed, setTilesFailed] = useState(false);
  // The map follows the data (fitted to every point) until the viewer pans or zooms it.
  const userMoved = useRef(false);
  const bounds = useRef<Leaflet.LatLngBounds | undefined>(undefined);
  const tiles = tileTemplate(options.tile_url);

  // The map itself, once Leaflet is here; a new tile address makes a new map.
  useEffect(() => {
    let map: Leaflet.Map | undefined;
    let cancelled = false;
    setTilesFailed(false);
    userMoved.current = false;
    const el = box.current;
    const moved = () => {
      userMoved.current = true;
    };
    for (const type of ["pointerdown", "wheel", "keydown"]) el?.addEventListener(type, moved, { passive: true });
    Promise.all([import("leaflet"), import("leaflet/dist/leaflet.css")]).then(
      ([module]) => {
        if (cancelled || !box.current) return;
        const L = (module as { default?: L }).default ?? (module as unknown as L);
        map = L.map(box.current, { zoomControl: true, attributionControl: true, worldCopyJump: true }).setView([20, 0], 1);
        map.attributionControl.setPrefix('<a href="https://leafletjs.com" rel="noreferrer">Leaflet</a>');
        if ("template" in tiles) {
          const layer = L.tileLayer(tiles.template, { attribution: escapeHtml(options.attribution), maxZoom: 19, referrerPolicy: "no-referrer" });
          layer.on("tileerror", () => setTilesFailed(true));
          layer.addTo(map);
        }
        setLeaflet({ L, map, layers: L.layerGroup().addTo(map) });
      },
      (err: unknown) => setLoadError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
      for (const type of ["pointerdown", "wheel", "keydown"]) el?.removeEventListener(type, moved);
      map?.remove();
      setLeaflet(undefined);
    };
  }, [options.tile_url, options.attribution]);

  const fit = (map: Leaflet.Map) => {
    map.invalidateSize();
    if (!userMoved.current && bounds.current?.isValid()) map.fitBounds(bounds.current, { paddingTopLeft: [60, 40], paddingBottomRight: [40, 40], maxZoom: 16 });
  };
  useEffect(() => {
    if (leaflet) fit(leaflet.map);
  }, [leaflet, width, height]);

  // Points and tracks, redrawn as data comes (a live point moves its device's marker and extends its track).
  useEffect(() => {
    if (!leaflet || !data || !box.current) return;
    const { L, map, layers } = leaflet;
    layers.clearLayers();
    const colours = palette(box.current);
    const all: Leaflet.LatLngExpression[] = [];
    [...data.entries()].forEach(([device, points], i) => {
      if (points.length === 0) return;
      const colour = colours[i % colours.length]!;
      const line = points.map((p) => [p.lat, p.lng] as [number, number]);
      all.push(...line);
      if (options.track && line.length > 1) L.polyline(line, { color: colour, weight: 3, opacity: 0.8, className: "map-track", interactive: false }).addTo(layers);
      const last = points[points.length - 1]!;
      L.circleMarker([last.lat, last.lng], { radius: 8, color: "#ffffff", weight: 2, fillColor: colour, fillOpacity: 1, className: "map-marker" })
        .bindTooltip(tooltipOf(`${device} · ${new Date(last.time).toLocaleString()}${last.value !== undefined ? ` · ${last.variable} ${String(last.value)}` : ""}`))
        .addTo(layers);
    });
    bounds.current = all.length > 0 ? L.latLngBounds(all) : undefined;
    fit(map);
  }, [leaflet, data, options.track]);

  const points = data ? [...data.values()].reduce((n, p) => n + p.length, 0) : 0;
  return (
    <div class="widget-map" role="region" aria-label={`${widget.label || "Map"}: ${data ? `${data.size} device(s), ${points} point(s)` : "loading"}`}>
      <div ref={box} class="widget-map-canvas" />
      {("error" in tiles || tilesFailed) && (
        <p class="widget-map-note" role="status">
          {"error" in tiles ? tiles.error : "Map tiles unavailable: points and tracks are shown without the background."}
        </p>
      )}
      {data && points === 0 && <p class="widget-map-note">No records with a location yet.</p>}
      {(error ?? loadError) !== undefined && (
        <p class="widget-map-note error" role="alert">
          {error ?? loadError}
        </p>
      )}
    </div>
  );
}
